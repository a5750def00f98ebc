using System.Text;
using System.Text.Json;
using Coffer.Abstractions;
using Coffer.Plumbing;

namespace Coffer.Engine.Core.Model;

/// <summary>A directory's content as stored in a tree blob: its entries, sorted by name (ordinal).</summary>
internal sealed record TreeNode
{
    public required IReadOnlyList<Node> Entries { get; init; }

    // JSON cannot carry the lone surrogates that stand for bytes that are not UTF-8 (RawName): such names and
    // targets are stored as their bytes (name_raw, target_raw) and turned back into the same strings when read.
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(
        Entries.Any(e => RawName.HasEscapedBytes(e.Name) || (e.Target is { } t && RawName.HasEscapedBytes(t))) ? this with { Entries = [.. Entries.Select(e => e.Stored())] } : this,
        BackupJsonContext.Default.TreeNode);

    public static TreeNode Parse(ReadOnlySpan<byte> json)
    {
        var tree = JsonSerializer.Deserialize(json, BackupJsonContext.Default.TreeNode) ?? throw new JsonException("tree is null");
        return tree.Entries.Any(e => e.NameRaw is not null || e.TargetRaw is not null) ? tree with { Entries = [.. tree.Entries.Select(e => e.Loaded())] } : tree;
    }
}

/// <summary>One entry of a tree: the metadata a source reported, and where its content is.</summary>
internal sealed record Node
{
    public required string Name { get; init; }

    /// <summary><c>file</c>, <c>dir</c>, <c>symlink</c>, <c>fifo</c>, <c>socket</c>, <c>chardev</c> or <c>blockdev</c>.</summary>
    public required string Kind { get; init; }

    public long Size { get; init; }

    public DateTimeOffset Mtime { get; init; }

    /// <summary>Unix permission bits, or null when the source has none.</summary>
    public int? Mode { get; init; }

    public long? Uid { get; init; }

    public long? Gid { get; init; }

    public string? Target { get; init; }

    /// <summary>
    /// Only in a stored tree: the name's exact bytes when they are not UTF-8 (<see cref="Name"/> then shows them
    /// decoded with U+FFFD, for older readers). Once read, <see cref="Name"/> carries them as <see cref="RawName"/> does.
    /// </summary>
    public byte[]? NameRaw { get; init; }

    /// <summary>Only in a stored tree: a symlink target's exact bytes when they are not UTF-8, as <see cref="NameRaw"/>.</summary>
    public byte[]? TargetRaw { get; init; }

    public string? ContentType { get; init; }

    public string? FileId { get; init; }

    public Dictionary<string, string>? Metadata { get; init; }

    // Optional since the special-file work (docs/store-format.md, "Hard links, special files, owners"): absent in older snapshots.

    /// <summary>A file's link count when it had more than one name: paths with the same <see cref="FileId"/> are one file.</summary>
    public long? Links { get; init; }

    /// <summary>A device's number (<c>st_rdev</c>, glibc's <c>makedev</c> encoding).</summary>
    public long? Rdev { get; init; }

    /// <summary>The owner's name where it was backed up.</summary>
    public string? User { get; init; }

    /// <summary>The group's name where it was backed up.</summary>
    public string? Group { get; init; }

    /// <summary>A file's data blob ids, in order.</summary>
    public IReadOnlyList<string>? Content { get; init; }

    /// <summary>
    /// A file with holes: its data runs as <c>[offset, length]</c> pairs, in order; <see cref="Content"/> is the
    /// chunks of the runs concatenated, and the rest of <see cref="Size"/> reads as zeros. Null: one run covering
    /// the whole size (docs/store-format.md, "Sparse files"; <see cref="FileExtents"/>).
    /// </summary>
    public IReadOnlyList<long[]>? Extents { get; init; }

    /// <summary>SHA-256 of a file's whole content (holes as zeros), checked by a full check and by restore.</summary>
    public string? Sha256 { get; init; }

    /// <summary>A directory's tree blob id.</summary>
    public string? Subtree { get; init; }

    /// <summary>Why the source could not read the entry fully.</summary>
    public string? Error { get; init; }

    public const string FileKind = "file";
    public const string DirectoryKind = "dir";
    public const string SymlinkKind = "symlink";
    public const string FifoKind = "fifo";
    public const string SocketKind = "socket";
    public const string CharacterDeviceKind = "chardev";
    public const string BlockDeviceKind = "blockdev";

    public EntryKind EntryKind => Kind switch
    {
        FileKind => EntryKind.File,
        DirectoryKind => EntryKind.Directory,
        SymlinkKind => EntryKind.Symlink,
        FifoKind => EntryKind.Fifo,
        SocketKind => EntryKind.Socket,
        CharacterDeviceKind => EntryKind.CharacterDevice,
        BlockDeviceKind => EntryKind.BlockDevice,
        _ => throw new StoreFormatException($"an entry has the unknown kind '{Kind}': the store is damaged or was written by a newer coffer"),
    };

    /// <summary>Whether this is a fifo, socket or device: no content, made rather than written.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsSpecial => Kind is FifoKind or SocketKind or CharacterDeviceKind or BlockDeviceKind;

    public static string KindOf(EntryKind kind) => kind switch
    {
        EntryKind.File => FileKind,
        EntryKind.Directory => DirectoryKind,
        EntryKind.Symlink => SymlinkKind,
        EntryKind.Fifo => FifoKind,
        EntryKind.Socket => SocketKind,
        EntryKind.CharacterDevice => CharacterDeviceKind,
        EntryKind.BlockDevice => BlockDeviceKind,
        _ => throw new InvalidDataException($"unknown entry kind {kind}"),
    };

    /// <summary>
    /// Whether <paramref name="name"/> can be one path segment below a restore root: not empty, <c>.</c> or
    /// <c>..</c>, and without <c>/</c> or NUL. Destinations refuse such paths too; the engine does not rely on
    /// every (third-party) destination doing so.
    /// </summary>
    public static bool IsSafeName(string name) =>
        name.Length > 0 && name is not ("." or "..") && !name.Contains('/', StringComparison.Ordinal) && !name.Contains('\0', StringComparison.Ordinal);

    /// <summary>A name as it can be shown on one line: quoted, with control characters and bytes that are not UTF-8 escaped.</summary>
    public static string Quote(string name) => DisplayText.Quote(name);

    /// <summary>This node as a tree blob stores it: a name or target that is not UTF-8 goes as its bytes.</summary>
    public Node Stored() => this with
    {
        Name = RawName.HasEscapedBytes(Name) ? Encoding.UTF8.GetString(RawName.Encode(Name)) : Name,
        NameRaw = RawName.HasEscapedBytes(Name) ? RawName.Encode(Name) : null,
        Target = Target is { } target && RawName.HasEscapedBytes(target) ? Encoding.UTF8.GetString(RawName.Encode(target)) : Target,
        TargetRaw = Target is { } escaped && RawName.HasEscapedBytes(escaped) ? RawName.Encode(escaped) : null,
    };

    /// <summary>
    /// Whether this node and <paramref name="other"/> say the same thing, so a tree of such nodes reads back the
    /// same: every field equal, collections by content, a time's offset too (a tree blob keeps it).
    /// </summary>
    public bool SameAs(Node other)
    {
        // The record's own equality covers every scalar field, present and future; collections compare by
        // reference there, so they are compared here by content and taken from other for the record's check.
        // A collection field added later and not listed here compares by reference: at worst a tree is re-encoded.
        if (Mtime.Offset != other.Mtime.Offset
            || !SameItems(Content, other.Content, (a, b) => string.Equals(a, b, StringComparison.Ordinal))
            || !SameItems(Extents, other.Extents, (a, b) => a.AsSpan().SequenceEqual(b))
            || !SameItems(NameRaw, other.NameRaw, (a, b) => a == b)
            || !SameItems(TargetRaw, other.TargetRaw, (a, b) => a == b)
            || !SameMetadata(Metadata, other.Metadata))
        {
            return false;
        }

        return this with { Content = other.Content, Extents = other.Extents, NameRaw = other.NameRaw, TargetRaw = other.TargetRaw, Metadata = other.Metadata } == other;
    }

    private static bool SameItems<T>(IReadOnlyList<T>? left, IReadOnlyList<T>? right, Func<T, T, bool> same)
    {
        if (ReferenceEquals(left, right))
        {
            return true;
        }

        if (left is null || right is null || left.Count != right.Count)
        {
            return false;
        }

        for (var i = 0; i < left.Count; i++)
        {
            if (!same(left[i], right[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool SameMetadata(Dictionary<string, string>? left, Dictionary<string, string>? right) =>
        ReferenceEquals(left, right)
        || (left is not null && right is not null && left.Count == right.Count
            && left.All(pair => right.TryGetValue(pair.Key, out var value) && string.Equals(value, pair.Value, StringComparison.Ordinal)));

    /// <summary>This node as read from a tree blob: its name and target as the strings a source gave.</summary>
    public Node Loaded() => this with
    {
        Name = NameRaw is { } name ? RawName.Decode(name) : Name,
        NameRaw = null,
        Target = TargetRaw is { } target ? RawName.Decode(target) : Target,
        TargetRaw = null,
    };

    /// <summary>The node for a scanned entry, without content.</summary>
    public static Node From(TreeEntry entry, string name) => new()
    {
        Name = name,
        Kind = KindOf(entry.Kind),
        Size = entry.Kind == EntryKind.File ? entry.Size : 0,
        Mtime = entry.ModifiedTime,
        Mode = entry.Mode is { } mode ? (int)mode : null,
        Uid = entry.UserId,
        Gid = entry.GroupId,
        Target = entry.SymlinkTarget,
        ContentType = entry.ContentType,
        FileId = entry.FileId,
        Metadata = entry.Metadata.Count == 0 ? null : new Dictionary<string, string>(entry.Metadata, StringComparer.Ordinal),
        Error = entry.Error,
        Links = entry.LinkCount > 1 ? entry.LinkCount : null,
        Rdev = entry.DeviceNumber,
        User = entry.UserName,
        Group = entry.GroupName,
    };

    /// <summary>The entry a destination gets for this node at <paramref name="path"/>.</summary>
    public TreeEntry ToEntry(string path) => new(path, EntryKind)
    {
        Size = Size,
        ModifiedTime = Mtime,
        Mode = Mode is { } mode ? (UnixFileMode)mode : null,
        UserId = Uid,
        GroupId = Gid,
        SymlinkTarget = Target,
        ContentType = ContentType,
        FileId = FileId,
        Metadata = Metadata ?? new Dictionary<string, string>(),
        LinkCount = Links,
        DeviceNumber = Rdev,
        UserName = User,
        GroupName = Group,
    };
}
