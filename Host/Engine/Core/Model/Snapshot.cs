using System.Text.Json;

namespace Coffer.Engine.Core.Model;

/// <summary>A snapshot object: when, from where, and the root of its tree.</summary>
internal sealed record Snapshot
{
    public required string Id { get; init; }

    public DateTimeOffset Time { get; init; }

    public string Hostname { get; init; } = "";

    public string Username { get; init; } = "";

    /// <summary>What was backed up, as the user named it (a path, a location or <c>@name[:sub]</c>, resolved).</summary>
    public required string Source { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The snapshot this one reused unchanged files from.</summary>
    public string? Parent { get; init; }

    /// <summary>
    /// For a snapshot <c>sync</c> copied from another store: the id of the snapshot it was first copied from
    /// (a copy of a copy keeps the first id), so no sync copies one snapshot into a store twice. Null for a backup.
    /// </summary>
    public string? Origin { get; init; }

    /// <summary>The id that names this snapshot's content across stores: its <see cref="Origin"/>, or its own id.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string OriginalId => Origin ?? Id;

    /// <summary>The source's root directory, with its subtree.</summary>
    public required Node Root { get; init; }

    public required SnapshotSummary Summary { get; init; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, BackupJsonContext.Default.Snapshot);

    public static Snapshot Parse(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, BackupJsonContext.Default.Snapshot) ?? throw new JsonException("snapshot is null");

    public string ShortId => Id[..8];
}

internal sealed record SnapshotSummary
{
    public long Files { get; init; }

    public long Directories { get; init; }

    public long Symlinks { get; init; }

    /// <summary>Total size of the files' content.</summary>
    public long Bytes { get; init; }

    public long Errors { get; init; }

    /// <summary>Bytes read from the source: the files read (not the unchanged ones), without the holes of sparse files. 0 in snapshots made before it was counted.</summary>
    public long BytesRead { get; init; }

    /// <summary>Files not read again because they were unchanged since the parent.</summary>
    public long FilesUnchanged { get; init; }

    public long NewBlobs { get; init; }

    /// <summary>Bytes this backup added to the store (sealed blobs, before pack headers).</summary>
    public long NewBytesStored { get; init; }

    public double Seconds { get; init; }
}
