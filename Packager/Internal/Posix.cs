using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Coffer.Packager.Internal;

/// <summary>
/// The one system call the installer needs that neither .NET nor Coffer.Plumbing exposes: rename(2) of a
/// symbolic link over another, the atomic switch between package versions.
/// </summary>
internal static partial class Posix
{
    /// <summary>Renames atomically, replacing <paramref name="newPath"/> if it is a file or a symbolic link.</summary>
    public static void Rename(string oldPath, string newPath)
    {
        if (RenameNative(oldPath, newPath) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot rename {oldPath} to {newPath}: {new Win32Exception(errno).Message}", errno);
        }
    }

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int RenameNative(string oldPath, string newPath);
}
