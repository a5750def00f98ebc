using System.Buffers;
using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;
using Coffer.Plumbing;

namespace Coffer.Plugins.Posix;

/// <summary>
/// Restores into a directory: files (new ones in place, existing ones replaced atomically through a temp file), directories, symlinks, modes,
/// mtimes and <c>xattr.user.*</c> metadata as extended attributes. It never writes outside its root: absolute paths and <c>..</c> are refused, and so is any path
/// whose parent on disk is a symlink, wherever it points.
/// </summary>
internal sealed class DirectoryDestination(string root) : IDestinationConnector
{
    private const int CopyBufferSize = 1024 * 1024;

    public string Description => $"directory {root}";

    public Task CreateDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var path = RelativePath.Resolve(root, entry.Path, createParents: true);
        var existing = Native.Lstat(path);
        if (existing is { IsDirectory: true })
        {
            return Task.CompletedTask;
        }

        if (existing is { IsSymlink: true })
        {
            // A link where a directory belongs is replaced, never written through.
            File.Delete(path);
        }
        else if (existing is not null)
        {
            throw new IOException($"cannot restore directory '{entry.Path}': a file is in the way in {Description}");
        }

        Directory.CreateDirectory(path);
        return Task.CompletedTask;
    }

    public async Task WriteFileAsync(TreeEntry entry, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(content);
        var path = RelativePath.Resolve(root, entry.Path, createParents: true);
        var existing = Native.Lstat(path);
        if (entry.Path.Length == 0 || existing is { IsDirectory: true })
        {
            throw new IOException($"cannot restore file '{entry.Path}': a directory is in the way in {Description}");
        }

        if (existing is null)
        {
            await WriteNewFileAsync(entry, path, content, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Restored files are not fsynced one by one: a restore interrupted by a crash is simply run again.
        var temp = await DurableFile.WriteTempAsync(Path.GetDirectoryName(path)!, (s, ct) => content.CopyToAsync(s, CopyBufferSize, ct), DurableFile.Readable, flushToDisk: false, cancellationToken).ConfigureAwait(false);
        try
        {
            // A filesystem without extended attributes cannot keep them; the restore goes on without.
            _ = Xattrs.Write(temp, entry.Metadata);
            if (entry.Mode is { } mode)
            {
                File.SetUnixFileMode(temp, mode);
            }

            Native.SetModifiedTime(temp, entry.ModifiedTime);
            // rename(2) replaces whatever is at the path, a symlink included, without following it.
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            DurableFile.TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Writes a file that did not exist in place, with no temp file and no rename: renames into the same
    /// directories from several writers were most of restore's kernel time. O_EXCL never follows a link
    /// that appeared meanwhile. A failure removes the file; only a crash can leave it partly written, and
    /// then with the time of the crash as its mtime, so the rerun replaces it (through a temp file).
    /// </summary>
    private static async Task WriteNewFileAsync(TreeEntry entry, string path, Stream content, CancellationToken cancellationToken)
    {
        using var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            long offset = 0;
            int read;
            while ((read = await content.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                RandomAccess.Write(file, buffer.AsSpan(0, read), offset);
                offset += read;
            }

            _ = Xattrs.Write(path, entry.Metadata);
            if (entry.Mode is { } mode)
            {
                // After the writes, which clear setuid/setgid.
                File.SetUnixFileMode(file, mode);
            }

            Native.SetModifiedTime(file, path, entry.ModifiedTime);
        }
        catch
        {
            DurableFile.TryDelete(path);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Task CreateSymlinkAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (string.IsNullOrEmpty(entry.SymlinkTarget))
        {
            throw new ArgumentException($"symlink '{entry.Path}' has no target", nameof(entry));
        }

        var path = RelativePath.Resolve(root, entry.Path, createParents: true);
        var existing = Native.Lstat(path);
        if (entry.Path.Length == 0 || existing is { IsDirectory: true })
        {
            throw new IOException($"cannot restore symlink '{entry.Path}': a directory is in the way in {Description}");
        }

        if (existing is not null)
        {
            File.Delete(path);
        }

        // The target is data, stored as given: a link pointing outside is fine, writing through it is not.
        File.CreateSymbolicLink(path, entry.SymlinkTarget);
        Native.SetModifiedTime(path, entry.ModifiedTime);
        return Task.CompletedTask;
    }

    public Task FinishDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var path = RelativePath.Resolve(root, entry.Path, createParents: false);
        var existing = Native.Lstat(path);
        if (existing is { IsSymlink: true })
        {
            throw new PathEscapesRootException($"'{entry.Path}' in {Description} is a symlink, not the directory being finished");
        }

        if (existing is not { IsDirectory: true })
        {
            throw new NotFoundException($"directory '{entry.Path}' is not in {Description}: create it before finishing it");
        }

        _ = Xattrs.Write(path, entry.Metadata);
        if (entry.Mode is { } mode)
        {
            File.SetUnixFileMode(path, mode);
        }

        Native.SetModifiedTime(path, entry.ModifiedTime);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
