namespace Coffer.Abstractions;

/// <summary>What an entry in a tree is.</summary>
public enum EntryKind
{
    /// <summary>A regular file with content.</summary>
    File,

    /// <summary>A directory (or a prefix, on flat backends).</summary>
    Directory,

    /// <summary>A symbolic link; see <see cref="TreeEntry.SymlinkTarget"/>.</summary>
    Symlink,

    // ABI 1.3: special files (docs/abi.md). A destination built against an older ABI receives them in
    // IDestinationConnector.WriteFileAsync with empty content.

    /// <summary>A named pipe (FIFO). Since ABI 1.3.</summary>
    Fifo,

    /// <summary>A Unix domain socket file. Since ABI 1.3.</summary>
    Socket,

    /// <summary>A character device; see <see cref="TreeEntry.DeviceNumber"/>. Since ABI 1.3.</summary>
    CharacterDevice,

    /// <summary>A block device; see <see cref="TreeEntry.DeviceNumber"/>. Since ABI 1.3.</summary>
    BlockDevice,
}

/// <summary>
/// One entry of a tree as a source reads it and a destination writes it. Paths are relative to the
/// connector's root, use <c>/</c>, never start with <c>/</c> and never contain <c>.</c> or <c>..</c>
/// segments; the root itself is the empty path.
/// </summary>
/// <param name="Path">The entry's relative path.</param>
/// <param name="Kind">What the entry is.</param>
public sealed record TreeEntry(string Path, EntryKind Kind)
{
    /// <summary>The content length of a file; 0 for others.</summary>
    public long Size { get; init; }

    /// <summary>The last modification time.</summary>
    public DateTimeOffset ModifiedTime { get; init; }

    /// <summary>Unix permission bits (including setuid, setgid, sticky), or null when the backend has none.</summary>
    public UnixFileMode? Mode { get; init; }

    /// <summary>The owner's numeric id, or null when unknown.</summary>
    public long? UserId { get; init; }

    /// <summary>The group's numeric id, or null when unknown.</summary>
    public long? GroupId { get; init; }

    /// <summary>The target of a symbolic link, as stored in the link.</summary>
    public string? SymlinkTarget { get; init; }

    /// <summary>The MIME type, where the backend keeps one (blob content type).</summary>
    public string? ContentType { get; init; }

    /// <summary>
    /// Identity of the file on its device (e.g. <c>dev:inode</c>), used to tell an unchanged file
    /// from a replaced one; null when the backend has none.
    /// </summary>
    public string? FileId { get; init; }

    /// <summary>
    /// Backend metadata to carry through a backup: blob metadata, extended attributes (as
    /// <c>xattr.NAME</c>), access tier (<c>azure.tier</c>). Empty when none.
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMetadata;

    /// <summary>Set by a source for an entry it could not read fully; the reason, in one line.</summary>
    public string? Error { get; init; }

    // ---- ABI 1.3: hard links, devices and owner names (docs/abi.md). All optional: null when unknown. ----

    /// <summary>
    /// How many names the file has on its device (<c>st_nlink</c>); with more than one, entries with the same
    /// <see cref="FileId"/> are one file. Null when the backend has none. Since ABI 1.3.
    /// </summary>
    public long? LinkCount { get; init; }

    /// <summary>
    /// For a destination: the path (relative to the destination's root, restored earlier in the same restore)
    /// this file is a hard link to. A destination that can link makes <see cref="Path"/> a second name of it and
    /// need not read the content; one that cannot writes the content it is given. Since ABI 1.3.
    /// </summary>
    public string? HardLinkTarget { get; init; }

    /// <summary>
    /// The device number (<c>st_rdev</c>, Linux encoding: <c>makedev(major, minor)</c>) of a character or block
    /// device. Since ABI 1.3.
    /// </summary>
    public long? DeviceNumber { get; init; }

    /// <summary>The owner's name on the machine the entry was read on, or null when unknown. Since ABI 1.3.</summary>
    public string? UserName { get; init; }

    /// <summary>The group's name on the machine the entry was read on, or null when unknown. Since ABI 1.3.</summary>
    public string? GroupName { get; init; }

    // ---- end of ABI 1.3 (links) ----

    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata = new Dictionary<string, string>();
}
