using System.Globalization;
using System.Runtime.InteropServices;
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
        var (parent, name) = RawDirectory.OpenParent(root, path, createParents: false);
        using (parent)
        {
            var stat = parent.Stat(name) ?? throw new NotFoundException($"'{path}' is no longer in {Description}");
            if (!stat.IsRegularFile)
            {
                throw new IOException($"'{path}' in {Description} is not a regular file");
            }

            try
            {
                return Task.FromResult<Stream>(new SparseFileStream(parent.OpenFile(name), $"'{path}' in {Description}"));
            }
            catch (IOException e) when (e.HResult == Native.ENOENT)
            {
                throw new NotFoundException($"'{path}' is no longer in {Description}", e);
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>A directory being walked: its open descriptor, its names in order, and the next one to describe.</summary>
    private sealed class Level(RawDirectory directory, string relative, List<string> names)
    {
        public RawDirectory Directory => directory;

        public string Relative => relative;

        public List<string> Names => names;

        public int Next { get; set; }
    }

    private IEnumerable<TreeEntry> Walk(CancellationToken cancellationToken)
    {
        // Depth-first with an explicit stack, so a deep tree cannot overflow the call stack. Each level holds
        // its directory open and names come relative to it: no system call gets a whole path (PATH_MAX).
        var levels = new Stack<Level>();
        try
        {
            var top = RawDirectory.Open(root);
            var rootEntry = Describe(top, RawDirectory.Itself, "");
            var rootDevice = Device(rootEntry);
            yield return Enter(rootEntry, top, root, 0, levels);
            while (levels.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var level = levels.Peek();
                if (level.Next == level.Names.Count)
                {
                    levels.Pop().Directory.Dispose();
                    continue;
                }

                var name = level.Names[level.Next++];
                var entry = Describe(level.Directory, name, level.Relative.Length == 0 ? name : $"{level.Relative}/{name}");
                // A mount point below the root stays an empty directory with --one-file-system.
                if (entry.Kind == EntryKind.Directory && entry.Error is null && (!OneFileSystem || Device(entry) == rootDevice))
                {
                    entry = Enter(entry, level.Directory.TryOpenDirectory(name, out var errno), level.Directory.PathOf(name), errno, levels);
                }

                yield return entry;
            }
        }
        finally
        {
            while (levels.Count > 0)
            {
                levels.Pop().Directory.Dispose();
            }
        }
    }

    /// <summary>Lists a directory entry's names (ordinal order) to walk them next, or records why it cannot be listed.</summary>
    private static TreeEntry Enter(TreeEntry entry, RawDirectory? directory, string full, int openErrno, Stack<Level> levels)
    {
        if (entry.Kind != EntryKind.Directory || entry.Error is not null)
        {
            directory?.Dispose();
            return entry;
        }

        if (directory is null)
        {
            return entry with { Error = $"cannot list {full}: {Marshal.GetPInvokeErrorMessage(openErrno)}" };
        }

        try
        {
            var names = directory.ReadNames();
            names.Sort(StringComparer.Ordinal);
            levels.Push(new Level(directory, entry.Path, names));
            return entry;
        }
        catch (IOException e)
        {
            directory.Dispose();
            return entry with { Error = e.Message };
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

    private TreeEntry Describe(RawDirectory directory, string name, string relative)
    {
        var full = directory.PathOf(name);
        var found = directory.TryStat(name, out var errno);
        if (found is not { } stat)
        {
            return new TreeEntry(relative, EntryKind.File) { Error = Native.Error(errno, "stat", full).Message };
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
                return entry with { SymlinkTarget = directory.ReadLink(name) };
            }
            catch (IOException e)
            {
                return entry with { Error = e.Message };
            }
        }

        if (readXattrs)
        {
            try
            {
                var metadata = Xattrs.Read(directory.ProcPath(name));
                if (metadata.Count > 0)
                {
                    entry = entry with { Metadata = metadata };
                }
            }
            catch (IOException e)
            {
                return entry with { Error = e.Message.Replace(directory.ProcPath(name), full, StringComparison.Ordinal) };
            }
        }

        if (stat.IsRegularFile)
        {
            // Opening now (and closing at once) reports an unreadable file during the scan, where the
            // user sees it with its path, rather than as a failure deep inside the backup.
            try
            {
                using var handle = directory.OpenFile(name);
            }
            catch (IOException e)
            {
                return entry with { Error = e.Message };
            }
        }

        return entry;
    }
}
