using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Coffer.Packager.Internal;

/// <summary>
/// The few system calls the installer needs that .NET does not expose: rename(2) of a symbolic link over
/// another (the atomic switch between package versions) and fsync(2) of a directory (so a rename
/// survives a crash).
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

    /// <summary>Flushes a directory's entries to disk.</summary>
    public static void FsyncDirectory(string path)
    {
        var fd = Open(path, 0 /* O_RDONLY: enough for fsync, and works on directories */);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open directory {path}: {new Win32Exception(errno).Message}", errno);
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"cannot flush directory {path}: {new Win32Exception(errno).Message}", errno);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int RenameNative(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
