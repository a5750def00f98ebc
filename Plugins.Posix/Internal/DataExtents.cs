using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Coffer.Plugins.Posix.Internal;

/// <summary>One run of bytes a file has data for; what lies between runs is a hole that reads as zeros.</summary>
internal readonly record struct DataExtent(long Offset, long Length);

/// <summary>
/// Where a file's data is, found with <c>lseek(SEEK_DATA/SEEK_HOLE)</c>, so a sparse file's holes need
/// not be read. A file system without hole reporting answers one extent covering the whole file, which is
/// always correct (holes then read as zeros).
/// </summary>
internal static partial class DataExtents
{
    private const int SeekData = 3;
    private const int SeekHole = 4;

    /// <summary>errno: no data at or after the offset (the rest of the file is a hole).</summary>
    private const int ENXIO = 6;

    /// <summary>errno: the file system does not support SEEK_DATA/SEEK_HOLE.</summary>
    private const int EINVAL = 22;

    /// <summary>The data extents of the open regular file <paramref name="file"/>, in order, within its first <paramref name="length"/> bytes.</summary>
    public static IReadOnlyList<DataExtent> Find(SafeFileHandle file, long length, string pathForMessages)
    {
        var extents = new List<DataExtent>();
        long offset = 0;
        while (offset < length)
        {
            var dataStart = lseek(file, offset, SeekData);
            if (dataStart < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == ENXIO)
                {
                    break;
                }

                if (errno == EINVAL && offset == 0)
                {
                    return [new DataExtent(0, length)];
                }

                throw Failure(errno, "find the data of", pathForMessages);
            }

            if (dataStart >= length)
            {
                break;
            }

            var holeStart = lseek(file, dataStart, SeekHole);
            if (holeStart < 0)
            {
                throw Failure(Marshal.GetLastPInvokeError(), "find the holes of", pathForMessages);
            }

            // The file may have grown or shrunk since its length was taken: keep within the length recorded.
            var end = Math.Min(holeStart, length);
            extents.Add(new DataExtent(dataStart, end - dataStart));
            offset = end;
        }

        return extents;
    }

    // Native.Error's wording, kept here so this file stands alone (the posix tests compile it in).
    private static IOException Failure(int errno, string verb, string path) =>
        new($"cannot {verb} {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);

    [LibraryImport("libc", SetLastError = true)]
    private static partial long lseek(SafeFileHandle fd, long offset, int whence);
}
