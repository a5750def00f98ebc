using System.Runtime.InteropServices;

namespace Coffer.Plumbing;

/// <summary>
/// Atomic, durable file writes: a temp file in the target's directory, written, fsynced, renamed over the
/// target, and the directory fsynced, so after a crash the target is either the old file or the whole new one.
/// </summary>
public static partial class DurableFile
{
    /// <summary>Read-write for the owner, readable by all: what data files get.</summary>
    public const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>Read-write for the owner only: what secrets get.</summary>
    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The prefix of every temp file: directory listings skip names starting with a dot.</summary>
    public const string TempPrefix = ".tmp-";

    // Whole-file writes are small or come in large chunks; a buffer coalesces the small ones only.
    private const int WholeFileBufferSize = 1 << 16;

    // O_RDONLY is enough for fsync and works on directories; O_CLOEXEC differs between Linux and macOS.
    private const int OReadOnly = 0;
    private static readonly int OCloseOnExec = OperatingSystem.IsMacOS() ? 0x1000000 : 0x80000;

    /// <summary>Writes a whole file durably, replacing <paramref name="path"/> if it exists.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="write">Writes the content into the stream it is given.</param>
    /// <param name="mode">The new file's permissions, e.g. <see cref="Private"/> for secrets.</param>
    public static void Write(string path, Action<Stream> write, UnixFileMode mode = Readable)
    {
        ArgumentNullException.ThrowIfNull(write);
        var temp = TempPath(DirectoryOf(path));
        try
        {
            using (var stream = Create(temp, mode, WholeFileBufferSize))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        Commit(temp, path);
    }

    /// <summary>Writes a whole file durably, replacing <paramref name="path"/> if it exists.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="write">Writes the content into the stream it is given.</param>
    /// <param name="mode">The new file's permissions, e.g. <see cref="Private"/> for secrets.</param>
    /// <param name="cancellationToken">Cancels writing; the target is then untouched.</param>
    /// <returns>A task that completes when the file is in place and on disk.</returns>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, UnixFileMode mode = Readable, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        var temp = await WriteTempAsync(DirectoryOf(path), write, mode, flushToDisk: true, WholeFileBufferSize, cancellationToken).ConfigureAwait(false);
        Commit(temp, path);
    }

    /// <summary>
    /// Writes a new temp file in <paramref name="directory"/> and returns its path, for a caller that puts
    /// it in place itself (<see cref="Commit"/>, a link, a rename without fsync). The stream is unbuffered:
    /// callers write large chunks. On failure nothing is left.
    /// </summary>
    /// <param name="directory">Where the temp file goes: the directory of its final name, so renaming it is atomic.</param>
    /// <param name="write">Writes the content into the file it is given.</param>
    /// <param name="mode">The temp file's permissions.</param>
    /// <param name="flushToDisk">Whether to fsync the file before returning.</param>
    /// <param name="cancellationToken">Cancels writing.</param>
    /// <returns>The temp file's path.</returns>
    public static Task<string> WriteTempAsync(string directory, Func<FileStream, CancellationToken, Task> write, UnixFileMode mode, bool flushToDisk, CancellationToken cancellationToken) =>
        WriteTempAsync(directory, write, mode, flushToDisk, 0, cancellationToken);

    /// <summary>Renames a written temp file over <paramref name="target"/> and makes the rename durable.</summary>
    /// <param name="temp">The temp file, in the target's directory.</param>
    /// <param name="target">The final name.</param>
    public static void Commit(string temp, string target)
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

        FsyncDirectory(DirectoryOf(target));
    }

    /// <summary>A fresh temp file name in <paramref name="directory"/>.</summary>
    /// <param name="directory">The directory.</param>
    /// <returns>The path, named <see cref="TempPrefix"/> and a random suffix.</returns>
    public static string TempPath(string directory) => Path.Combine(directory, TempPrefix + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// Removes a file on a failure path. A second failure here must not hide the first one, which is what
    /// the caller needs to see; a leftover temp file is never listed and is harmless.
    /// </summary>
    /// <param name="path">The file.</param>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Flushes a directory's entries to disk, so a create, rename or delete in it survives a crash.</summary>
    /// <param name="path">The directory.</param>
    /// <exception cref="IOException">The directory cannot be opened or flushed; <see cref="Exception.HResult"/> is the errno.</exception>
    public static void FsyncDirectory(string path)
    {
        var fd = Open(path, OReadOnly | OCloseOnExec);
        if (fd < 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "open", path);
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw Error(Marshal.GetLastPInvokeError(), "fsync", path);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private static async Task<string> WriteTempAsync(string directory, Func<FileStream, CancellationToken, Task> write, UnixFileMode mode, bool flushToDisk, int bufferSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        var temp = TempPath(directory);
        try
        {
            var stream = Create(temp, mode, bufferSize);
            await using (stream.ConfigureAwait(false))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                if (flushToDisk)
                {
                    // fsync has no asynchronous form; it blocks this thread for the disk's flush only.
                    stream.Flush(flushToDisk: true);
                }
            }

            return temp;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static FileStream Create(string path, UnixFileMode mode, int bufferSize) => new(path, new FileStreamOptions
    {
        Mode = FileMode.CreateNew,
        Access = FileAccess.Write,
        Share = FileShare.None,
        Options = FileOptions.Asynchronous,
        BufferSize = bufferSize,
        UnixCreateMode = mode,
    });

    private static string DirectoryOf(string path) => Path.GetDirectoryName(Path.GetFullPath(path))!;

    private static IOException Error(int errno, string verb, string path) =>
        new($"cannot {verb} {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
