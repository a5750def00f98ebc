using System.Runtime.InteropServices;

namespace Coffer.Plugins.Posix.Tests;

/// <summary>System calls the tests need to set up situations .NET cannot create.</summary>
internal static partial class Unix
{
    private const uint Nobody = 65534;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkfifo(string path, uint mode);

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string existing, string added);

    /// <summary>The owner's uid of <paramref name="path"/> (via stat(1), not the code under test).</summary>
    public static long OwnerOf(string path)
    {
        var info = new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true };
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The uid files this process creates belong to.</summary>
    public static uint EffectiveUserId => geteuid();

    public static void HardLink(string existing, string added)
    {
        if (link(existing, added) != 0)
        {
            throw new IOException($"link {added} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    [LibraryImport("libc")]
    private static partial int setfsuid(uint fsuid);

    [LibraryImport("libc")]
    private static partial int setfsgid(uint fsgid);

    public static void MakeFifo(string path)
    {
        if (mkfifo(path, Convert.ToUInt32("644", 8)) != 0)
        {
            throw new IOException($"mkfifo {path} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> with file permissions checked as an unprivileged user, so permission
    /// bits mean something even when the tests run as root. The file-system uid is per thread on Linux,
    /// so the action runs on a thread of its own and must not hop threads.
    /// </summary>
    public static T AsUnprivileged<T>(Func<T> action)
    {
        if (geteuid() != 0)
        {
            return action();
        }

        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            _ = setfsgid(Nobody);
            _ = setfsuid(Nobody);
            try
            {
                // setfsuid reports the previous id: asking again proves the switch took.
                if (setfsuid(Nobody) != Nobody)
                {
                    throw new InvalidOperationException("setfsuid did not switch to nobody");
                }

                result = action();
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                _ = setfsuid(0);
                _ = setfsgid(0);
            }
        });
        thread.Start();
        thread.Join();
        return failure is null ? result : throw new InvalidOperationException("the unprivileged action failed", failure);
    }
}
