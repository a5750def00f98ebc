using System.Globalization;
using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;

namespace Coffer.Plugins.Posix;

/// <summary>
/// Walks a directory tree: root first, each directory before its contents, siblings in ordinal order.
/// Symlinks are reported, never followed. What cannot be read is yielded with an error and skipped.
/// With <paramref name="readXattrs"/>, entries other than links carry their extended attributes
/// (<c>user.</c>, and <c>security.</c>/<c>trusted.</c> when running as root). FIFOs, sockets and devices are
/// reported (never opened); files carry their link count and owner names.
/// </summary>
internal sealed class DirectorySource(string root, bool readXattrs) : ISourceConnector
{
    public string Description => $"directory {root}";

    /// <summary>With it, a directory on another device than the root (a mount point) is reported but not descended into.</summary>
    public bool OneFileSystem { get; init; }

    public IAsyncEnumerable<TreeEntry> ScanAsync(CancellationToken cancellationToken = default) =>
        // Directory reads are synchronous system calls; wrapping a plain walk costs nothing and keeps
        // the order obvious. The walk runs on the thread that enumerates it.
        Walk(cancellationToken).ToAsyncEnumerable();

    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var full = RelativePath.Resolve(root, path, createParents: false);
        var stat = Native.Lstat(full) ?? throw new NotFoundException($"'{path}' is no longer in {Description}");
        if (!stat.IsRegularFile)
        {
            throw new IOException($"'{path}' in {Description} is not a regular file");
        }

        try
        {
            return Task.FromResult<Stream>(new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 0, FileOptions.Asynchronous | FileOptions.SequentialScan));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new NotFoundException($"'{path}' is no longer in {Description}", e);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private IEnumerable<TreeEntry> Walk(CancellationToken cancellationToken)
    {
        // Depth-first with an explicit stack, so a deep tree cannot overflow the call stack.
        var pending = new Stack<(string Relative, string Full)>();
        string? rootDevice = null;
        pending.Push(("", root));
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (relative, full) = pending.Pop();
            var entry = Describe(relative, full);
            rootDevice ??= Device(entry);
            if (entry.Kind == EntryKind.Directory && entry.Error is null && (!OneFileSystem || Device(entry) == rootDevice))
            {
                List<string> children;
                try
                {
                    children = Directory.EnumerateFileSystemEntries(full).Select(c => Path.GetFileName(c)).Order(StringComparer.Ordinal).ToList();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    children = [];
                    entry = entry with { Error = $"cannot list {full}: {e.Message}" };
                }

                // Pushed in reverse so they pop in ordinal order.
                for (var i = children.Count - 1; i >= 0; i--)
                {
                    pending.Push((relative.Length == 0 ? children[i] : $"{relative}/{children[i]}", Path.Combine(full, children[i])));
                }
            }

            yield return entry;
        }
    }

    // The st_dev part of the FileId Describe gives ("major:minor:inode").
    private static string? Device(TreeEntry entry) => entry.FileId?[..entry.FileId.LastIndexOf(':')];

    private static EntryKind? KindOf(FileStat stat) => stat.Type switch
    {
        0x4000 => EntryKind.Directory,
        0x8000 => EntryKind.File,
        0xA000 => EntryKind.Symlink,
        0x1000 => EntryKind.Fifo,
        0xC000 => EntryKind.Socket,
        0x2000 => EntryKind.CharacterDevice,
        0x6000 => EntryKind.BlockDevice,
        _ => null,
    };

    private TreeEntry Describe(string relative, string full)
    {
        var found = Native.TryLstat(full, out var errno);
        if (found is not { } stat)
        {
            // .NET names directory entries with strings: bytes that are not UTF-8 became U+FFFD, and that name does not exist.
            return new TreeEntry(relative, EntryKind.File)
            {
                Error = relative.Contains('\uFFFD', StringComparison.Ordinal)
                    ? "the name is not valid UTF-8 and cannot be backed up yet (it is shown with U+FFFD in place of its bytes)"
                    : Native.Error(errno, "stat", full).Message,
            };
        }

        var kind = KindOf(stat);
        if (kind is null)
        {
            return new TreeEntry(relative, EntryKind.File) { Error = $"{full} is a {stat.TypeName}, which is not backed up" };
        }

        var entry = new TreeEntry(relative, kind.Value)
        {
            Size = stat.IsRegularFile ? stat.Size : 0,
            ModifiedTime = stat.ModifiedTime,
            Mode = stat.Permissions,
            UserId = stat.UserId,
            GroupId = stat.GroupId,
            UserName = Native.UserName(stat.UserId),
            GroupName = Native.GroupName(stat.GroupId),
            FileId = string.Create(CultureInfo.InvariantCulture, $"{stat.DeviceMajor}:{stat.DeviceMinor}:{stat.Inode}"),
            LinkCount = stat.IsDirectory ? null : stat.LinkCount,
            DeviceNumber = kind is EntryKind.CharacterDevice or EntryKind.BlockDevice ? stat.DeviceNumber : null,
        };

        if (stat.IsSymlink)
        {
            try
            {
                return entry with { SymlinkTarget = new FileInfo(full).LinkTarget };
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return entry with { Error = $"cannot read the link {full}: {e.Message}" };
            }
        }

        if (readXattrs)
        {
            try
            {
                var metadata = Xattrs.Read(full);
                if (metadata.Count > 0)
                {
                    entry = entry with { Metadata = metadata };
                }
            }
            catch (IOException e)
            {
                return entry with { Error = e.Message };
            }
        }

        if (stat.IsRegularFile)
        {
            // Opening now (and closing at once) reports an unreadable file during the scan, where the
            // user sees it with its path, rather than as a failure deep inside the backup.
            try
            {
                using var handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return entry with { Error = $"cannot read {full}: {e.Message}" };
            }
        }

        return entry;
    }
}
