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

    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata = new Dictionary<string, string>();
}
