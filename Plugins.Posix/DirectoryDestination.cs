using System.Buffers;
using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;
using Coffer.Plumbing;

namespace Coffer.Plugins.Posix;

/// <summary>
/// Restores into a directory: files (written to a temp file renamed into place, all-zero blocks left as holes), directories, symlinks,
/// hard links (<see cref="TreeEntry.HardLinkTarget"/>), fifos, sockets, devices (as root), modes, mtimes, owners (as root) and
/// <c>xattr.*</c> metadata as extended attributes. It never writes outside its root: absolute paths and <c>..</c> are refused, and so is any path
/// whose parent on disk is a symlink, wherever it points.
/// </summary>
internal sealed class DirectoryDestination(string root) : IDestinationConnector, IDestinationContent
{
    private const int CopyBufferSize = 1024 * 1024;

    // The unit of a hole: the block size of common Linux file systems. A zero run shorter than it is written.
    private const int SparseBlockSize = 4096;

    private volatile bool _written;

    public string Description => $"directory {root}";

    public Task CreateDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var (parent, name) = RawDirectory.OpenParent(root, entry.Path, createParents: true);
        using (parent)
        {
            var existing = parent.Stat(name);
            if (existing is { IsDirectory: true })
            {
                return Task.CompletedTask;
            }

            if (existing is { IsSymlink: true })
            {
                // A link where a directory belongs is replaced, never written through.
                parent.Delete(name, directory: false);
            }
            else if (existing is not null)
            {
                throw new IOException($"cannot restore directory '{entry.Path}': a file is in the way in {Description}");
            }

            parent.MakeDirectory(name);
        }

        return Task.CompletedTask;
    }

    public async Task WriteFileAsync(TreeEntry entry, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(content);
        var (parent, name) = RawDirectory.OpenParent(root, entry.Path, createParents: true);
        using (parent)
        {
            var existing = parent.Stat(name);
            if (entry.Path.Length == 0 || existing is { IsDirectory: true })
            {
                throw new IOException($"cannot restore file '{entry.Path}': a directory is in the way in {Description}");
            }

            if (entry.Kind != EntryKind.File)
            {
                MakeSpecialFile(entry, parent, name, existing);
                return;
            }

            if (entry.HardLinkTarget is { } linkTarget && TryHardLink(linkTarget, parent, name, existing))
            {
                return;
            }

            // Always through a temp file renamed into place: an interrupted restore never leaves a partly written
            // file under its final name. Files are not fsynced one by one: DisposeAsync flushes the file system once.
            _written = true;
            var temp = Path.GetFileName(DurableFile.TempPath(""));
            try
            {
                using (var file = new FileStream(parent.CreateFile(temp, DurableFile.Readable), FileAccess.ReadWrite, bufferSize: 0))
                {
                    await CopySparseAsync(content, file, cancellationToken).ConfigureAwait(false);
                }

                SetAttributes(parent, temp, entry);
                // rename(2) replaces whatever is at the name, a symlink included, without following it.
                parent.Rename(temp, name);
            }
            catch
            {
                TryDelete(parent, temp);
                throw;
            }
        }
    }

    /// <summary>
    /// Gives a restored entry its extended attributes, owner, mode and mtime, in that order: chown clears setuid
    /// and setgid, and the mtime comes last since the others may move it.
    /// </summary>
    private static void SetAttributes(RawDirectory parent, string name, TreeEntry entry)
    {
        // A filesystem without extended attributes cannot keep them; the restore goes on without.
        _ = Xattrs.Write(parent.ProcPath(name), entry.Metadata);
        SetOwner(parent, name, entry);
        if (entry.Mode is { } mode)
        {
            parent.SetMode(name, mode);
        }

        parent.SetModifiedTime(name, entry.ModifiedTime);
    }

    // A second failure on a failure path must not hide the first one; a leftover temp file is never listed.
    private static void TryDelete(RawDirectory parent, string name)
    {
        try
        {
            parent.Delete(name, directory: false);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// Makes <paramref name="name"/> a second name of the file restored at <paramref name="linkTarget"/> (a hard
    /// link within the snapshot). False when that cannot be done (the target is not a regular file here, or the
    /// file system refuses): the caller writes the content instead.
    /// </summary>
    private bool TryHardLink(string linkTarget, RawDirectory parent, string name, FileStat? existing)
    {
        RawDirectory targetParent;
        string targetName;
        try
        {
            (targetParent, targetName) = RawDirectory.OpenParent(root, linkTarget, createParents: false);
        }
        catch (Exception e) when (e is NotFoundException or PathEscapesRootException or IOException or ArgumentException)
        {
            return false;
        }

        using (targetParent)
        {
            if (targetParent.Stat(targetName) is not { IsRegularFile: true } target)
            {
                return false;
            }

            if (existing is { } there && there.Inode == target.Inode && there.DeviceMajor == target.DeviceMajor && there.DeviceMinor == target.DeviceMinor)
            {
                return true; // linked already
            }

            _written = true;
            if (existing is not null)
            {
                parent.Delete(name, directory: false);
            }

            try
            {
                return parent.TryLink(targetParent, targetName, name);
            }
            catch (IOException)
            {
                return false; // e.g. a file system without hard links: the content is written instead
            }
        }
    }

    /// <summary>Creates a fifo, socket or device node with its mode, owner, attributes and mtime.</summary>
    /// <exception cref="IOException">It could not be made (a device when not running as root).</exception>
    private void MakeSpecialFile(TreeEntry entry, RawDirectory parent, string name, FileStat? existing)
    {
        uint type = entry.Kind switch
        {
            EntryKind.Fifo => 0x1000,
            EntryKind.Socket => 0xC000,
            EntryKind.CharacterDevice => 0x2000,
            EntryKind.BlockDevice => 0x6000,
            _ => throw new ArgumentException($"'{entry.Path}' is a {entry.Kind}, which {Description} cannot restore", nameof(entry)),
        };
        if (type is 0x2000 or 0x6000 && !Native.IsRoot)
        {
            throw new IOException($"'{entry.Path}' is a device, and only root can create devices: restore as root to get it back");
        }

        _written = true;
        if (existing is not null)
        {
            parent.Delete(name, directory: false);
        }

        parent.MakeNode(name, type, entry.DeviceNumber ?? 0);
        // Linux keeps user.* attributes on files and directories only; other namespaces still go on.
        var userOnly = entry.Metadata.Keys.All(k => k.StartsWith(Xattrs.KeyPrefix + "user.", StringComparison.Ordinal));
        try
        {
            SetAttributes(parent, name, entry);
        }
        catch (IOException) when (userOnly)
        {
            SetAttributes(parent, name, entry with { Metadata = new Dictionary<string, string>() });
        }
    }

    /// <summary>
    /// As root, gives <paramref name="name"/> the entry's owner and group: by name when it has names that exist
    /// on this machine, else by number (the engine drops the names for <c>--numeric-owner</c>). Others cannot
    /// give files away, so nothing is changed.
    /// </summary>
    private static void SetOwner(RawDirectory parent, string name, TreeEntry entry)
    {
        if (!Native.IsRoot || (entry.UserId is null && entry.UserName is null))
        {
            return;
        }

        var user = (entry.UserName is { } userName ? Native.UserId(userName) : null) ?? entry.UserId ?? -1;
        var group = (entry.GroupName is { } groupName ? Native.GroupId(groupName) : null) ?? entry.GroupId ?? -1;
        parent.SetOwner(name, user, group);
    }

    /// <summary>
    /// Copies <paramref name="content"/> into a new file, seeking over every all-zero block instead of writing
    /// it, so that a sparse file (a disk image, a database file) comes back sparse; the length is set at the end.
    /// Reads fill whole buffers, so blocks stay aligned with the file system's. Content that says where its data
    /// is (<see cref="ISparseContent"/>, a file stored with holes) has only its runs read.
    /// </summary>
    private static async Task CopySparseAsync(Stream content, FileStream file, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            long length;
            if (content is ISparseContent sparse)
            {
                // Stored with holes: only the data runs are read and written, each at its offset.
                foreach (var run in sparse.DataRuns)
                {
                    sparse.SkipTo(run.Offset);
                    await CopyZerosSkippedAsync(content, file, buffer, run.Offset, run.Length, cancellationToken).ConfigureAwait(false);
                }

                length = sparse.ContentLength;
            }
            else
            {
                length = await CopyZerosSkippedAsync(content, file, buffer, 0, long.MaxValue, cancellationToken).ConfigureAwait(false);
            }

            file.SetLength(length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Copies at most <paramref name="count"/> bytes of <paramref name="content"/> to <paramref name="file"/> at <paramref name="offset"/>, zero blocks left as holes; returns where the copy ended.</summary>
    private static async Task<long> CopyZerosSkippedAsync(Stream content, FileStream file, byte[] buffer, long offset, long count, CancellationToken cancellationToken)
    {
        var end = offset;
        while (end - offset < count)
        {
            var wanted = (int)Math.Min(CopyBufferSize, count - (end - offset));
            var filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, wanted), wanted, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (filled == 0)
            {
                break;
            }

            WriteSkippingZeroBlocks(file, buffer.AsSpan(0, filled), end);
            end += filled;
        }

        return end;
    }

    private static void WriteSkippingZeroBlocks(FileStream file, ReadOnlySpan<byte> data, long offset)
    {
        var runStart = -1;
        for (var block = 0; block < data.Length; block += SparseBlockSize)
        {
            var span = data.Slice(block, Math.Min(SparseBlockSize, data.Length - block));
            var zero = span.Length == SparseBlockSize && !span.ContainsAnyExcept((byte)0);
            if (!zero && runStart < 0)
            {
                runStart = block;
            }
            else if (zero && runStart >= 0)
            {
                RandomAccess.Write(file.SafeFileHandle, data[runStart..block], offset + runStart);
                runStart = -1;
            }
        }

        if (runStart >= 0)
        {
            RandomAccess.Write(file.SafeFileHandle, data[runStart..], offset + runStart);
        }
    }

    public Task CreateSymlinkAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (string.IsNullOrEmpty(entry.SymlinkTarget))
        {
            throw new ArgumentException($"symlink '{entry.Path}' has no target", nameof(entry));
        }

        var (parent, name) = RawDirectory.OpenParent(root, entry.Path, createParents: true);
        using (parent)
        {
            var existing = parent.Stat(name);
            if (entry.Path.Length == 0 || existing is { IsDirectory: true })
            {
                throw new IOException($"cannot restore symlink '{entry.Path}': a directory is in the way in {Description}");
            }

            if (existing is not null)
            {
                parent.Delete(name, directory: false);
            }

            // The target is data, stored as given: a link pointing outside is fine, writing through it is not.
            parent.Symlink(entry.SymlinkTarget, name);
            SetOwner(parent, name, entry);
            parent.SetModifiedTime(name, entry.ModifiedTime);
        }

        return Task.CompletedTask;
    }

    public Task FinishDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var (parent, name) = RawDirectory.OpenParent(root, entry.Path, createParents: false);
        using (parent)
        {
            var existing = parent.Stat(name);
            if (existing is { IsSymlink: true })
            {
                throw new PathEscapesRootException($"'{entry.Path}' in {Description} is a symlink, not the directory being finished");
            }

            if (existing is not { IsDirectory: true })
            {
                throw new NotFoundException($"directory '{entry.Path}' is not in {Description}: create it before finishing it");
            }

            SetAttributes(parent, name, entry);
        }

        return Task.CompletedTask;
    }

    public IAsyncEnumerable<TreeEntry> ScanContentAsync(CancellationToken cancellationToken = default) =>
        new DirectorySource(root, readXattrs: false).ScanAsync(cancellationToken);

    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default) =>
        new DirectorySource(root, readXattrs: false).OpenReadAsync(path, cancellationToken);

    public Task DeleteAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Path.Length == 0)
        {
            throw new ArgumentException($"the root of {Description} is never removed", nameof(entry));
        }

        RawDirectory parent;
        string name;
        try
        {
            (parent, name) = RawDirectory.OpenParent(root, entry.Path, createParents: false);
        }
        catch (NotFoundException)
        {
            return Task.CompletedTask; // its parent is gone already
        }

        using (parent)
        {
            // A link is removed, never what it points to.
            if (parent.Stat(name) is { } existing)
            {
                parent.Delete(name, existing.IsDirectory);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Makes what the restore wrote durable before the restore reports success (one syncfs, not an fsync per file).</summary>
    public ValueTask DisposeAsync()
    {
        if (_written)
        {
            _written = false;
            Native.SyncFileSystem(root);
        }

        return ValueTask.CompletedTask;
    }
}
