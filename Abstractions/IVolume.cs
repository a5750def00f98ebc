namespace Coffer.Abstractions;

/// <summary>
/// A content-addressed block device, as a keepstore volume: blocks of at most
/// <see cref="BlockHash.MaxBlockSize"/> bytes named by the lower-case MD5 hex of their content.
/// Implementations are safe for concurrent use.
/// </summary>
/// <remarks>
/// The host enforces <see cref="VolumeSettings.Serialize"/> and <see cref="VolumeSettings.ReadOnly"/> for every
/// volume: it lets one call at a time reach a serialized volume, and never writes, touches, trashes, untrashes or
/// empties the trash of a read-only one. A volume need not check either setting. It does own the rules only the
/// backend can keep: telling a collision from a corrupt copy (<see cref="CompareAsync"/>), leaving blocks younger
/// than <see cref="VolumeSettings.BlobSignatureTtl"/> alone and keeping trash for
/// <see cref="VolumeSettings.TrashLifetime"/> (<see cref="TrashAsync"/>). See docs/abi.md, "Who enforces each
/// volume rule".
/// </remarks>
public interface IVolume : IAsyncDisposable
{
    /// <summary>
    /// Identifies the backend: every host and process reaching the same storage gets the same id
    /// (e.g. <c>azure://endpoint/account/container</c>), so duplicate mounts can be recognised.
    /// </summary>
    string DeviceId { get; }

    /// <summary>A human description of the volume for listings; never holds secrets.</summary>
    string Description { get; }

    /// <summary>
    /// True when the backend itself cannot be written, whatever the settings (e.g. anonymous access); the host then
    /// treats the volume as read-only. A volume need not report <see cref="VolumeSettings.ReadOnly"/> here: the host
    /// combines the two (volumes built against ABI 1.0 report both, which is equally right).
    /// </summary>
    bool IsReadOnly { get; }

    /// <summary>How many copies the backend itself keeps of each block (1 for a plain disk).</summary>
    int Replication { get; }

    /// <summary>Copies a block's stored content into <paramref name="destination"/>.</summary>
    /// <param name="hash">The block's MD5 hex.</param>
    /// <param name="destination">Where the content goes.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The number of bytes copied.</returns>
    /// <exception cref="NotFoundException">No such block (trashed blocks count as absent).</exception>
    Task<long> ReadAsync(string hash, Stream destination, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a block atomically: readers never see a partial block. Writing a block that exists
    /// replaces it with the same content and refreshes its mtime.
    /// </summary>
    /// <param name="hash">The MD5 hex of <paramref name="data"/>; the caller has verified it.</param>
    /// <param name="data">The block's content.</param>
    /// <param name="cancellationToken">Cancels the write; nothing partial is left.</param>
    /// <returns>A task that completes when the block is durable.</returns>
    /// <exception cref="ReadOnlyException">The backend refused the change (e.g. a read-only filesystem).</exception>
    /// <exception cref="StorageFullException">The backend has no room.</exception>
    Task WriteAsync(string hash, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Compares a stored block with <paramref name="expected"/>, telling a hash collision from a corrupt copy.</summary>
    /// <param name="hash">The block's MD5 hex.</param>
    /// <param name="expected">The content a client sent under that hash.</param>
    /// <param name="cancellationToken">Cancels the comparison.</param>
    /// <returns>How the stored copy relates to <paramref name="expected"/>.</returns>
    /// <exception cref="NotFoundException">No such block.</exception>
    Task<BlockComparison> CompareAsync(string hash, ReadOnlyMemory<byte> expected, CancellationToken cancellationToken = default);

    /// <summary>Sets a block's mtime to now, protecting it from garbage collection.</summary>
    /// <param name="hash">The block's MD5 hex.</param>
    /// <param name="cancellationToken">Cancels the touch.</param>
    /// <returns>A task that completes when the mtime is stored.</returns>
    /// <exception cref="NotFoundException">No such block.</exception>
    /// <exception cref="ReadOnlyException">The backend refused the change (e.g. a read-only filesystem).</exception>
    Task TouchAsync(string hash, CancellationToken cancellationToken = default);

    /// <summary>Gets a block's last modification time.</summary>
    /// <param name="hash">The block's MD5 hex.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The mtime.</returns>
    /// <exception cref="NotFoundException">No such block.</exception>
    Task<DateTimeOffset> GetMtimeAsync(string hash, CancellationToken cancellationToken = default);

    /// <summary>Lists the blocks whose hash starts with <paramref name="prefix"/>; trashed blocks are absent.</summary>
    /// <param name="prefix">A lower-case hex prefix, empty for all.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>The blocks, in no particular order.</returns>
    IAsyncEnumerable<BlockInfo> IndexAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves a block to the trash until <see cref="VolumeSettings.TrashLifetime"/> has passed (deletes it at
    /// once when the lifetime is zero). A block younger than <see cref="VolumeSettings.BlobSignatureTtl"/> is
    /// left alone without error, because a client may still hold a valid signature for it.
    /// </summary>
    /// <param name="hash">The block's MD5 hex.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the block is trashed or left alone.</returns>
    /// <exception cref="NotFoundException">No such block.</exception>
    /// <exception cref="ReadOnlyException">The backend refused the change (e.g. a read-only filesystem).</exception>
    Task TrashAsync(string hash, CancellationToken cancellationToken = default);

    /// <summary>Brings back a trashed block whose deadline has not passed.</summary>
    /// <param name="hash">The block's MD5 hex.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the block is back.</returns>
    /// <exception cref="NotFoundException">No trashed copy of the block.</exception>
    /// <exception cref="ReadOnlyException">The backend refused the change (e.g. a read-only filesystem).</exception>
    Task UntrashAsync(string hash, CancellationToken cancellationToken = default);

    /// <summary>Deletes for good every trashed block whose deadline has passed.</summary>
    /// <param name="cancellationToken">Cancels the sweep.</param>
    /// <returns>A task that completes when the sweep is done.</returns>
    Task EmptyTrashAsync(CancellationToken cancellationToken = default);

    /// <summary>Reports space used and free.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status.</returns>
    Task<VolumeStatus> GetStatusAsync(CancellationToken cancellationToken = default);
}

/// <summary>How a stored block compares with content offered under the same hash.</summary>
public enum BlockComparison
{
    /// <summary>The stored content equals the offered content.</summary>
    Identical,

    /// <summary>The stored content differs but does hash to its name: a real MD5 collision.</summary>
    Collision,

    /// <summary>The stored content differs and does not hash to its name: the stored copy is corrupt.</summary>
    Corrupt,
}

/// <summary>One line of a volume index.</summary>
/// <param name="Hash">The block's MD5 hex.</param>
/// <param name="Size">The block's size in bytes.</param>
/// <param name="Mtime">The block's last modification time.</param>
public readonly record struct BlockInfo(string Hash, long Size, DateTimeOffset Mtime)
{
    /// <summary>The keepstore index line: <c>hash+size mtime_ns</c>.</summary>
    /// <returns>The line, without a newline.</returns>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Hash}+{Size} {BlockHash.ToUnixNanoseconds(Mtime)}");
}

/// <summary>Space on a volume's backend.</summary>
/// <param name="BytesFree">Bytes free, or -1 when the backend cannot tell (cloud storage).</param>
/// <param name="BytesUsed">Bytes used by blocks, or -1 when the backend cannot tell cheaply.</param>
public readonly record struct VolumeStatus(long BytesFree, long BytesUsed);

/// <summary>Settings the host applies to every volume, whatever its kind.</summary>
public sealed class VolumeSettings
{
    /// <summary>
    /// The volume is mounted read-only. Advisory: the host never writes, touches or trashes such a volume, so a
    /// volume need not refuse anything itself; it may mention it in its description.
    /// </summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// One I/O at a time on this volume (helps spinning disks). Advisory: the host lets one call at a time reach
    /// such a volume, so a volume need not serialize anything itself.
    /// </summary>
    public bool Serialize { get; init; }

    /// <summary>How long a block's signature is valid; younger blocks are never trashed. Default two weeks.</summary>
    public TimeSpan BlobSignatureTtl { get; init; } = TimeSpan.FromDays(14);

    /// <summary>How long trashed blocks stay recoverable; zero deletes at once. Default two weeks.</summary>
    public TimeSpan TrashLifetime { get; init; } = TimeSpan.FromDays(14);
}
