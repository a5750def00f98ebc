namespace Coffer.Plugins.Posix.Internal;

/// <summary>Atomic, durable file writes: a temp file beside the target, fsync, rename, fsync of the directory.</summary>
internal static class Durable
{
    /// <summary>The prefix of every temp file: listings skip names starting with a dot.</summary>
    public const string TempPrefix = ".tmp-";

    /// <summary>A fresh temp file name in <paramref name="directory"/>.</summary>
    public static string TempPath(string directory) => Path.Combine(directory, TempPrefix + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// Writes <paramref name="content"/> into a new temp file in <paramref name="directory"/> (fsynced when
    /// <paramref name="flushToDisk"/>, with <paramref name="mtime"/> when given) and returns its path.
    /// The caller renames or links it into place; on failure nothing is left.
    /// </summary>
    public static async Task<string> WriteTempAsync(string directory, Func<FileStream, CancellationToken, Task> content, DateTimeOffset? mtime, bool flushToDisk, CancellationToken cancellationToken)
    {
        var temp = TempPath(directory);
        try
        {
            var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
                BufferSize = 0,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            });
            await using (stream.ConfigureAwait(false))
            {
                await content(stream, cancellationToken).ConfigureAwait(false);
                if (flushToDisk)
                {
                    // fsync has no asynchronous form; it blocks this thread for the disk's flush only.
                    stream.Flush(flushToDisk: true);
                }
            }

            if (mtime is { } time)
            {
                Native.SetModifiedTime(temp, time);
            }

            return temp;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Renames a written temp file over <paramref name="target"/> and makes the rename durable.</summary>
    public static void CommitReplace(string temp, string target)
    {
        try
        {
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        Native.FsyncDirectory(Path.GetDirectoryName(target)!);
    }

    /// <summary>
    /// Removes a temp file on a failure path. A second failure here must not hide the first one,
    /// which is what the caller needs to see; a leftover temp file is never listed and is harmless.
    /// </summary>
    public static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Tells whether an I/O error means the filesystem is mounted read-only.</summary>
    public static bool IsReadOnlyFileSystem(IOException e) => e.HResult == Native.EROFS;

    /// <summary>Tells whether an I/O error means the disk is full.</summary>
    public static bool IsDiskFull(IOException e) =>
        e.HResult is 28 /* ENOSPC */ or 122 /* EDQUOT */ or unchecked((int)0x80070070) /* ERROR_DISK_FULL */;
}
