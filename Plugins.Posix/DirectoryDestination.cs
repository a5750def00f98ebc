using System.Buffers;
using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;
using Coffer.Plumbing;
using Microsoft.Win32.SafeHandles;

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

    // Each directory is opened once, not once per entry written in it (docs/decisions.md, "Restore profile").
    private readonly DirectoryHandles _directories = new(root);

    // Temp names are this run's random part and a counter: unique without a random draw per file.
    private readonly string _tempBase = Path.GetFileName(DurableFile.TempPath("")) + "-";
    private long _tempCount;

    public string Description => $"directory {root}";

    public Task CreateDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        using var lease = _directories.OpenParent(entry.Path, createParents: true);
        var (parent, name) = (lease.Parent, lease.Name);
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
        return Task.CompletedTask;
    }

    public async Task WriteFileAsync(TreeEntry entry, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(content);
        using var lease = _directories.OpenParent(entry.Path, createParents: true);
        var (parent, name) = (lease.Parent, lease.Name);
        if (entry.Path.Length == 0)
        {
            throw DirectoryInTheWay(entry);
        }

        if (entry.Kind != EntryKind.File || entry.HardLinkTarget is not null)
        {
            var existing = parent.Stat(name);
            if (existing is { IsDirectory: true })
            {
                throw DirectoryInTheWay(entry);
            }

            if (entry.Kind != EntryKind.File)
            {
                MakeSpecialFile(entry, parent, name, existing);
                return;
            }

            if (TryHardLink(entry.HardLinkTarget!, parent, name, existing))
            {
                return;
            }
        }

        // Always through a temp file renamed into place: an interrupted restore never leaves a partly written
        // file under its final name. Files are not fsynced one by one: DisposeAsync flushes the file system once.
        // A plain file is not stat'ed first: rename(2) refuses to replace a directory (EISDIR), which is then
        // reported as the stat did.
        _written = true;
        var temp = _tempBase + Interlocked.Increment(ref _tempCount).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            using (var file = parent.CreateFile(temp, DurableFile.Readable))
            {
                await CopySparseAsync(content, file, cancellationToken).ConfigureAwait(false);
                SetAttributes(parent, temp, file, entry);
            }

            // rename(2) replaces whatever is at the name, a symlink included, without following it.
            parent.Rename(temp, name);
        }
        catch (IOException e) when (e.HResult == Native.EISDIR)
        {
            TryDelete(parent, temp);
            throw DirectoryInTheWay(entry);
        }
        catch
        {
            TryDelete(parent, temp);
            throw;
        }
    }

    private IOException DirectoryInTheWay(TreeEntry entry) =>
        new($"cannot restore file '{entry.Path}': a directory is in the way in {Description}");

    /// <summary>
    /// Gives a new file its extended attributes, owner, mode and mtime through its open descriptor (no path
    /// lookups), in the order and for the reasons of <see cref="SetAttributes(RawDirectory, string, TreeEntry)"/>.
    /// </summary>
    private static void SetAttributes(RawDirectory parent, string name, SafeFileHandle file, TreeEntry entry)
    {
        if (entry.Metadata.Count > 0)
        {
            _ = Xattrs.Write(parent.ProcPath(name), entry.Metadata);
        }

        if (Owner(entry) is var (user, group))
        {
            Native.SetOwner(file, parent.PathOf(name), user, group);
        }

        if (entry.Mode is { } mode)
        {
            Native.SetMode(file, parent.PathOf(name), mode);
        }

        Native.SetModifiedTime(file, parent.PathOf(name), entry.ModifiedTime);
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
        DirectoryHandles.Lease lease;
        try
        {
            lease = _directories.OpenParent(linkTarget, createParents: false);
        }
        catch (Exception e) when (e is NotFoundException or PathEscapesRootException or IOException or ArgumentException)
        {
            return false;
        }

        using (lease)
        {
            var (targetParent, targetName) = (lease.Parent, lease.Name);
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
    /// As root, gives <paramref name="name"/> the entry's owner and group (<see cref="Owner"/>). Others cannot
    /// give files away, so nothing is changed.
    /// </summary>
    private static void SetOwner(RawDirectory parent, string name, TreeEntry entry)
    {
        if (Owner(entry) is var (user, group))
        {
            parent.SetOwner(name, user, group);
        }
    }

    /// <summary>
    /// The owner and group a restored entry gets as root: by name when it has names that exist on this machine,
    /// else by number (the engine drops the names for <c>--numeric-owner</c>); null when not root or unknown.
    /// </summary>
    private static (long User, long Group)? Owner(TreeEntry entry)
    {
        if (!Native.IsRoot || (entry.UserId is null && entry.UserName is null))
        {
            return null;
        }

        var user = (entry.UserName is { } userName ? Native.UserId(userName) : null) ?? entry.UserId ?? -1;
        var group = (entry.GroupName is { } groupName ? Native.GroupId(groupName) : null) ?? entry.GroupId ?? -1;
        return (user, group);
    }

    /// <summary>
    /// Copies <paramref name="content"/> into a new file, seeking over every all-zero block instead of writing
    /// it, so that a sparse file (a disk image, a database file) comes back sparse; the length is set at the end.
    /// Reads fill whole buffers, so blocks stay aligned with the file system's. Content that says where its data
    /// is (<see cref="ISparseContent"/>, a file stored with holes) has only its runs read.
    /// </summary>
    private static async Task CopySparseAsync(Stream content, SafeFileHandle file, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            long length, dataEnd = 0;
            if (content is ISparseContent sparse)
            {
                // Stored with holes: only the data runs are read and written, each at its offset.
                foreach (var run in sparse.DataRuns)
                {
                    sparse.SkipTo(run.Offset);
                    var (_, runDataEnd) = await CopyZerosSkippedAsync(content, file, buffer, run.Offset, run.Length, cancellationToken).ConfigureAwait(false);
                    dataEnd = Math.Max(dataEnd, runDataEnd);
                }

                length = sparse.ContentLength;
            }
            else
            {
                (length, dataEnd) = await CopyZerosSkippedAsync(content, file, buffer, 0, long.MaxValue, cancellationToken).ConfigureAwait(false);
            }

            // The writes made the file as long as its last data; only a trailing hole needs the length set.
            if (length != dataEnd)
            {
                RandomAccess.SetLength(file, length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Copies at most <paramref name="count"/> bytes of <paramref name="content"/> to <paramref name="file"/> at
    /// <paramref name="offset"/>, zero blocks left as holes; returns where the copy ended and where the last data
    /// written ended (0 when all was holes).
    /// </summary>
    private static async Task<(long End, long DataEnd)> CopyZerosSkippedAsync(Stream content, SafeFileHandle file, byte[] buffer, long offset, long count, CancellationToken cancellationToken)
    {
        long end = offset, dataEnd = 0;
        while (end - offset < count)
        {
            var wanted = (int)Math.Min(CopyBufferSize, count - (end - offset));
            var filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, wanted), wanted, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (filled == 0)
            {
                break;
            }

            dataEnd = Math.Max(dataEnd, WriteSkippingZeroBlocks(file, buffer.AsSpan(0, filled), end));
            end += filled;
        }

        return (end, dataEnd);
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/> but for its all-zero blocks; returns where the last write ended (0 when none).</summary>
    private static long WriteSkippingZeroBlocks(SafeFileHandle file, ReadOnlySpan<byte> data, long offset)
    {
        var runStart = -1;
        long dataEnd = 0;
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
                RandomAccess.Write(file, data[runStart..block], offset + runStart);
                dataEnd = offset + block;
                runStart = -1;
            }
        }

        if (runStart >= 0)
        {
            RandomAccess.Write(file, data[runStart..], offset + runStart);
            dataEnd = offset + data.Length;
        }

        return dataEnd;
    }

    public Task CreateSymlinkAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (string.IsNullOrEmpty(entry.SymlinkTarget))
        {
            throw new ArgumentException($"symlink '{entry.Path}' has no target", nameof(entry));
        }

        using (var lease = _directories.OpenParent(entry.Path, createParents: true))
        {
            var (parent, name) = (lease.Parent, lease.Name);
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
        using (var lease = _directories.OpenParent(entry.Path, createParents: false))
        {
            var (parent, name) = (lease.Parent, lease.Name);
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

        // Nothing more is written in it: its descriptor is closed.
        _directories.Forget(entry.Path);
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

        DirectoryHandles.Lease lease;
        try
        {
            lease = _directories.OpenParent(entry.Path, createParents: false);
        }
        catch (NotFoundException)
        {
            return Task.CompletedTask; // its parent is gone already
        }

        using (lease)
        {
            // A link is removed, never what it points to.
            if (lease.Parent.Stat(lease.Name) is { } existing)
            {
                lease.Parent.Delete(lease.Name, existing.IsDirectory);
                if (existing.IsDirectory)
                {
                    _directories.Forget(entry.Path);
                }
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

        _directories.Dispose();
        return ValueTask.CompletedTask;
    }
}
