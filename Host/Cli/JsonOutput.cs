using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Coffer.Engine.Core.Model;
using Coffer.Plumbing;

namespace Coffer.Cli;

/// <summary>
/// Writes what <c>--json</c> prints: each document on one line of stdout (JSON lines), an error as one object
/// on stderr. Every shape is a record below, serialized by source generation (no reflection), and documented
/// in docs/json.md.
/// </summary>
internal sealed class JsonOutput
{
    private readonly TextWriter _output;
    private readonly bool _quiet;

    public JsonOutput(TextWriter output, bool quiet)
    {
        _output = output;
        _quiet = quiet;
    }

    /// <summary>Writes one document as one line.</summary>
    public void Write<T>(T value, JsonTypeInfo<T> type) => _output.WriteLine(JsonSerializer.Serialize(value, type));

    /// <summary>Writes a progress line, unless <c>--quiet</c> asked for none.</summary>
    public void WriteStatus(JsonStatus status)
    {
        if (!_quiet)
        {
            Write(status, CliJsonContext.Default.JsonStatus);
        }
    }

    /// <summary>The error object a failing command prints on stderr under <c>--json</c>.</summary>
    public static string Error(int code, string message) => JsonSerializer.Serialize(new JsonError(code, message), CliJsonContext.Default.JsonError);

    /// <summary>A snapshot as every listing shows it.</summary>
    public static JsonSnapshot Snapshot(Snapshot s) =>
        new(s.Id, s.ShortId, s.Time, s.Hostname, s.Username, s.Source, s.Tags, s.Parent, s.Origin, s.Summary);

    /// <summary>
    /// The bytes of a name or path that is not UTF-8, in base64 (the tree format's <c>name_raw</c>), else null: the
    /// serializer writes each such byte as U+FFFD, so the string beside it cannot name the file.
    /// </summary>
    public static string? Raw(string? name) =>
        name is not null && RawName.HasEscapedBytes(name) ? Convert.ToBase64String(RawName.Encode(name)) : null;

    /// <summary>A tree entry as <c>ls</c> and <c>find</c> show it.</summary>
    public static JsonNode Node(Node node, string path) =>
        new(path, node.Name, node.Kind, node.Mode, node.Uid, node.Gid, node.Size, node.Mtime, node.Target);
}

/// <summary>restic's error message shape: <c>{"message_type":"error","code":N,"message":"…"}</c>.</summary>
internal sealed record JsonError(int Code, string Message)
{
    [JsonPropertyOrder(-1)]
    public string MessageType { get; } = "error";
}

/// <summary>A progress line of a long command (restic's status fields).</summary>
internal sealed record JsonStatus(string Action, double PercentDone, long TotalFiles, long FilesDone, long TotalBytes, long BytesDone, double SecondsElapsed)
{
    [JsonPropertyOrder(-1)]
    public string MessageType { get; } = "status";
}

/// <summary>A snapshot in <c>ls</c>, <c>info SNAPSHOT</c> and the like; a damaged one has its ids and <c>damaged</c> only.</summary>
internal sealed record JsonSnapshot(string Id, string ShortId, DateTimeOffset? Time, string? Hostname, string? Username, string? Source,
    IReadOnlyList<string>? Tags, string? Parent, string? Origin, SnapshotSummary? Summary)
{
    public bool Damaged { get; init; }
}

/// <summary>A tree entry; the <c>_raw</c> fields only for names that are not UTF-8.</summary>
internal sealed record JsonNode(string Path, string Name, string Type, int? Mode, long? Uid, long? Gid, long Size, DateTimeOffset Mtime, string? Target)
{
    /// <summary>The path's bytes (base64) when it is not UTF-8.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PathRaw => JsonOutput.Raw(Path);

    /// <summary>The name's bytes (base64) when it is not UTF-8.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? NameRaw => JsonOutput.Raw(Name);

    /// <summary>The symlink target's bytes (base64) when it is not UTF-8.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TargetRaw => JsonOutput.Raw(Target);
}

/// <summary>The end of a backup (restic's backup summary names where the meaning is the same).</summary>
internal sealed record JsonBackupSummary(string? SnapshotId, long TotalFilesProcessed, long FilesUnmodified, long DirsProcessed, long Symlinks,
    long TotalBytesProcessed, long DataAdded, long DataBlobs, double TotalDuration, IReadOnlyList<string> Unreadable)
{
    [JsonPropertyOrder(-1)]
    public string MessageType { get; } = "summary";

    /// <summary>Bytes read from the source: files not read again and the holes of sparse files are not counted.</summary>
    public long BytesRead { get; init; }

    /// <summary><c>--dry-run</c>: nothing was stored, <see cref="SnapshotId"/> is null and <see cref="DataAdded"/> is new data before compression.</summary>
    public bool DryRun { get; init; }

    /// <summary>In a dry run, the files that would be read (new or modified); else null.</summary>
    public IReadOnlyList<string>? WouldRead { get; init; }
}

/// <summary>The end of a restore (restic's restore summary names where the meaning is the same).</summary>
internal sealed record JsonRestoreSummary(string SnapshotId, string Destination, bool DryRun, long FilesRestored, long BytesRestored, long FilesSkipped,
    long FilesDeleted, IReadOnlyList<JsonPathReason> NotBackedUp, IReadOnlyList<JsonPathReason> NotRestored, IReadOnlyList<JsonPathReason> Damaged)
{
    [JsonPropertyOrder(-1)]
    public string MessageType { get; } = "summary";
}

/// <summary>A path and why something happened to it.</summary>
internal sealed record JsonPathReason(string Path, string Reason)
{
    /// <summary>The path's bytes (base64) when it is not UTF-8.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PathRaw => JsonOutput.Raw(Path);
}

/// <summary>A problem <c>check</c> found.</summary>
internal sealed record JsonCheckProblem(string? Snapshot, string? Path, string Reason)
{
    /// <summary>The path's bytes (base64) when it is not UTF-8.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PathRaw => JsonOutput.Raw(Path);
}

/// <summary>The end of a check.</summary>
internal sealed record JsonCheckSummary(bool Ok, int Snapshots, long FilesChecked, long BlobsChecked, int PacksRead, int PacksIndexed,
    IReadOnlyList<JsonCheckProblem> Problems, IReadOnlyList<JsonCheckProblem> Incomplete)
{
    [JsonPropertyOrder(-1)]
    public string MessageType { get; } = "summary";
}

/// <summary><c>info</c> of the store.</summary>
internal sealed record JsonStoreInfo(string Id, string Location, int Format, DateTimeOffset Created, string? Encryption, string BlobIds,
    string Chunker, long ChunkMin, long ChunkAverage, long ChunkMax, string Compression, int CompressionLevel, int Snapshots, int Packs,
    long PackBytes, int DataBlobs, int TreeBlobs, long TotalSize, long UniqueSize, double DedupRatio);

/// <summary>A match of <c>find</c>: the snapshot and the entry.</summary>
internal sealed record JsonFindMatch(string SnapshotId, JsonNode Node);

/// <summary>A difference <c>diff</c> found: <c>+</c> added, <c>-</c> removed, <c>M</c> modified, with what changed.</summary>
internal sealed record JsonDiffChange(string Modifier, string Path, IReadOnlyList<string> What)
{
    /// <summary>The path's bytes (base64) when it is not UTF-8.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PathRaw => JsonOutput.Raw(Path);
}

/// <summary>A key of the store, in <c>key list</c>.</summary>
internal sealed record JsonKey(string Id, DateTimeOffset Created, string? Hostname, string? Username, bool Current, bool InConfig);

/// <summary>A snapshot <c>tag</c> looked at.</summary>
internal sealed record JsonTagChange(string SnapshotId, bool Changed, IReadOnlyList<string> Tags);

/// <summary>A named store, source or destination; secret options are masked unless <c>show --secrets</c>.</summary>
internal sealed record JsonNamedConnector(string Name, string Location, IReadOnlyDictionary<string, string> Options);

/// <summary>A connector an installed package provides, in <c>connectors</c>.</summary>
internal sealed record JsonConnector(string Kind, string Scheme, string Package, string Description, IReadOnlyList<JsonConnectorOption> Options);

/// <summary>An option of a connector.</summary>
internal sealed record JsonConnectorOption(string Name, string Description, bool Required, bool Secret);

/// <summary>The end of a sync (or what a dry run would copy: no <c>copy_id</c>).</summary>
internal sealed record JsonSyncSummary(string Destination, bool DryRun, IReadOnlyList<JsonSyncedSnapshot> Snapshots, long DataBlobs, long DataAdded, int AdoptedPacks)
{
    [JsonPropertyOrder(-1)]
    public string MessageType { get; } = "summary";
}

/// <summary>A snapshot sync copied: its id here and the copy's id in the destination.</summary>
internal sealed record JsonSyncedSnapshot(string SnapshotId, string? CopyId);

/// <summary>The end of maintenance.</summary>
internal sealed record JsonMaintenanceSummary(bool DryRun, int Snapshots, int BlobsInUse, int OrphansIndexed, int PacksRepacked, long RepackedBytes,
    int PacksMarked, int PacksDeleted, long DeletedBytes, int PacksDeferred, string? DeferredBecause, IReadOnlyList<string> DamagedSnapshots)
{
    [JsonPropertyOrder(-1)]
    public string MessageType { get; } = "summary";
}

/// <summary>What <c>rm</c> removed (or would remove under <c>--dry-run</c>) and kept, and why.</summary>
internal sealed record JsonRemoval(bool DryRun, IReadOnlyList<JsonKept> Kept, IReadOnlyList<string> Removed, IReadOnlyList<string> RemovedDamaged);

/// <summary>A snapshot <c>rm</c> keeps, and the rules that keep it.</summary>
internal sealed record JsonKept(string SnapshotId, IReadOnlyList<string> Reasons);

/// <summary>What <c>key add|remove|passwd</c> did: the key added and/or removed (full ids).</summary>
internal sealed record JsonKeyChange(string Command, string? Added, string? Removed);

/// <summary>What <c>store|source|destination add|set|unset|rm</c> did to a named connector.</summary>
internal sealed record JsonNamedChange(string Command, string Name);

/// <summary>What <c>unlock</c> removed: each lock's object name and who held it (null when the lock could not be read).</summary>
internal sealed record JsonUnlock(IReadOnlyList<JsonRemovedLock> Removed);

/// <summary>A lock <c>unlock</c> removed.</summary>
internal sealed record JsonRemovedLock(string Name, string? HeldBy);

/// <summary>What <c>repair index</c> did (or would do).</summary>
internal sealed record JsonIndexRepair(bool DryRun, int PacksListed, int PacksFromHeaders, IReadOnlyList<string> UnreadablePacks, IReadOnlyList<string> MissingPacks,
    IReadOnlyList<string> Replaced, IReadOnlyList<string> Written);

/// <summary>What <c>repair snapshots</c> did (or would do): damaged snapshot objects removed, snapshots salvaged.</summary>
internal sealed record JsonSnapshotRepair(bool DryRun, IReadOnlyList<JsonPathReason> Removed, IReadOnlyList<JsonSalvaged> Salvaged);

/// <summary>A snapshot <c>repair snapshots</c> rewrote, and the entries it lost.</summary>
internal sealed record JsonSalvaged(string SnapshotId, IReadOnlyList<JsonPathReason> Lost);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(JsonError))]
[JsonSerializable(typeof(JsonStatus))]
[JsonSerializable(typeof(JsonSnapshot))]
[JsonSerializable(typeof(List<JsonSnapshot>))]
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(JsonBackupSummary))]
[JsonSerializable(typeof(JsonRestoreSummary))]
[JsonSerializable(typeof(JsonCheckSummary))]
[JsonSerializable(typeof(JsonStoreInfo))]
[JsonSerializable(typeof(JsonFindMatch))]
[JsonSerializable(typeof(JsonDiffChange))]
[JsonSerializable(typeof(List<JsonKey>))]
[JsonSerializable(typeof(List<JsonTagChange>))]
[JsonSerializable(typeof(List<JsonNamedConnector>))]
[JsonSerializable(typeof(JsonNamedConnector))]
[JsonSerializable(typeof(List<JsonConnector>))]
[JsonSerializable(typeof(JsonSyncSummary))]
[JsonSerializable(typeof(JsonMaintenanceSummary))]
[JsonSerializable(typeof(JsonRemoval))]
[JsonSerializable(typeof(JsonKeyChange))]
[JsonSerializable(typeof(JsonNamedChange))]
[JsonSerializable(typeof(JsonUnlock))]
[JsonSerializable(typeof(JsonIndexRepair))]
[JsonSerializable(typeof(JsonSnapshotRepair))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
