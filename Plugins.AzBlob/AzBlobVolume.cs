using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;
using Coffer.Plumbing;
using Microsoft.Extensions.Logging;
using BlockInfo = Coffer.Abstractions.BlockInfo;

namespace Coffer.Plugins.AzBlob;

/// <summary>
/// A keepstore volume in an Azure Blob container: one block blob per block, named by its MD5 hex, flat in the
/// container (or under a prefix). Several processes and hosts may share one container: blocks are created with
/// If-None-Match, trashed with If-Match, and a blob seen empty while another writer is mid-upload is waited for.
/// A trashed block carries the metadata <c>expires_at</c> (Unix seconds), as keepstore's Azure volume does.
/// </summary>
/// <remarks>
/// <c>-serialize</c> and <c>-readonly</c> are the host's to enforce (docs/abi.md, "Who enforces each volume rule"):
/// this volume lets every call through at once. It reports itself read-only only when the backend cannot be
/// written (anonymous access).
/// </remarks>
public sealed class AzBlobVolume : IVolume
{
    /// <summary>The metadata key that marks a trashed block: the Unix time (seconds) after which it may be deleted.</summary>
    public const string ExpiresAtKey = "expires_at";

    /// <summary>The metadata key a touch rewrites so the blob's Last-Modified moves to now.</summary>
    public const string TouchKey = "touch";

    /// <summary>How long after its Last-Modified an empty blob may still be an upload in progress, unless configured (keepstore's default).</summary>
    public static readonly TimeSpan WriteRaceInterval = TimeSpan.FromSeconds(15);

    /// <summary>How often such a blob is looked at again, unless configured (keepstore's default).</summary>
    internal static readonly TimeSpan DefaultWriteRacePoll = TimeSpan.FromSeconds(1);

    private const string EmptyBlockHash = "d41d8cd98f00b204e9800998ecf8427e";
    private const int ConditionAttempts = 8;

    private readonly TimeSpan _writeRaceInterval;
    private readonly TimeSpan _writeRacePoll;
    private readonly ListRetry? _listRetry;

    private readonly AzureConnection _connection;
    private readonly VolumeSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _name;

    internal AzBlobVolume(AzureConnection connection, VolumeSettings settings, int replication, TimeProvider time, ILogger logger, AzBlobVolumeTuning? tuning = null)
    {
        _writeRaceInterval = tuning?.WriteRaceInterval ?? WriteRaceInterval;
        _writeRacePoll = tuning?.WriteRacePoll ?? DefaultWriteRacePoll;
        _listRetry = tuning?.ListRetry;
        _connection = connection;
        _settings = settings;
        _time = time;
        _logger = logger;
        _name = connection.Location.ToString();
        Replication = replication;
        IsReadOnly = connection.Anonymous;
        DeviceId = $"azure://{connection.BackendId}" + (connection.Location.Prefix.Length == 0 ? string.Empty : "/" + connection.Location.Prefix.TrimEnd('/'));
        Description = connection.Describe("azure volume") + (IsReadOnly || settings.ReadOnly ? ", read-only" : string.Empty) + (settings.Serialize ? ", serialized" : string.Empty);
    }

    /// <inheritdoc />
    public string DeviceId { get; }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public bool IsReadOnly { get; }

    /// <inheritdoc />
    public int Replication { get; }

    /// <inheritdoc />
    public async Task<long> ReadAsync(string hash, Stream destination, CancellationToken cancellationToken = default)
    {
        BlockHash.Validate(hash);
        ArgumentNullException.ThrowIfNull(destination);
        return await WithBlockAsync(hash, "cannot read", async (content, length) =>
        {
            await content.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
            return length;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task WriteAsync(string hash, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        BlockHash.Validate(hash);
        if (data.Length > BlockHash.MaxBlockSize)
        {
            throw new ArgumentException($"block {hash} is {data.Length} bytes, more than {BlockHash.MaxBlockSize}", nameof(data));
        }

        var blob = Blob(hash);
        var started = _time.GetUtcNow();
        var waitStarted = _time.GetTimestamp();
        ETag? touchedBy = null;
        for (var attempt = 1; attempt <= ConditionAttempts; attempt++)
        {
            // Create only if absent, so two writers never overwrite each other's complete block.
            if (await TryUploadAsync(blob, data, new BlobRequestConditions { IfNoneMatch = ETag.All }, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            // The block is there already: same content -> touch (and untrash); different content -> replace the bad copy.
            var existing = await TryGetPropertiesAsync(hash, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                continue;
            }

            if (existing.ContentLength == 0 && data.Length > 0 && Age(existing.LastModified) < _writeRaceInterval &&
                _time.GetElapsedTime(waitStarted) < _writeRaceInterval)
            {
                // Another writer is probably mid-upload: let it finish, then look again (not counted as an attempt).
                await Task.Delay(_writeRacePoll, _time, cancellationToken).ConfigureAwait(false);
                attempt--;
                continue;
            }

            var conditions = new BlobRequestConditions { IfMatch = existing.ETag };
            if (await HasContentAsync(hash, existing, data, cancellationToken).ConfigureAwait(false))
            {
                if (!IsTrashed(existing.Metadata) &&
                    (Mtime(existing.Metadata, existing.LastModified) >= started || (touchedBy is { } previous && previous != existing.ETag)))
                {
                    return; // a concurrent writer of the same block refreshed it after this write began
                }

                touchedBy = existing.ETag;

                var metadata = new Dictionary<string, string>(existing.Metadata, StringComparer.OrdinalIgnoreCase);
                metadata.Remove(ExpiresAtKey);
                metadata[TouchKey] = NowNanoseconds();
                if (await TrySetMetadataAsync(hash, metadata, conditions, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            else if (await TryUploadAsync(blob, data, conditions, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }

        throw new ConnectorException($"cannot write block {hash} to {_connection.Location}: it kept changing under concurrent writers ({ConditionAttempts} attempts)");
    }

    /// <inheritdoc />
    public async Task<BlockComparison> CompareAsync(string hash, ReadOnlyMemory<byte> expected, CancellationToken cancellationToken = default)
    {
        BlockHash.Validate(hash);
        return await WithBlockAsync(hash, "cannot compare", async (content, _) =>
        {
            var equal = await CompareStreamAsync(content, expected, cancellationToken).ConfigureAwait(false);
            return equal.Equal ? BlockComparison.Identical : equal.Hash == hash ? BlockComparison.Collision : BlockComparison.Corrupt;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task TouchAsync(string hash, CancellationToken cancellationToken = default)
    {
        BlockHash.Validate(hash);
        for (var attempt = 1; attempt <= ConditionAttempts; attempt++)
        {
            var properties = await GetLivePropertiesAsync(hash, cancellationToken).ConfigureAwait(false);
            var metadata = new Dictionary<string, string>(properties.Metadata, StringComparer.OrdinalIgnoreCase)
            {
                [TouchKey] = NowNanoseconds(),
            };

            // If-Match: a trash that slipped in between must not be undone by this touch.
            if (await TrySetMetadataAsync(hash, metadata, new BlobRequestConditions { IfMatch = properties.ETag }, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }

        throw new ConnectorException($"cannot touch block {hash} on {_connection.Location}: it kept changing ({ConditionAttempts} attempts)");
    }

    /// <inheritdoc />
    public async Task<DateTimeOffset> GetMtimeAsync(string hash, CancellationToken cancellationToken = default)
    {
        BlockHash.Validate(hash);
        var properties = await GetLivePropertiesAsync(hash, cancellationToken).ConfigureAwait(false);
        return Mtime(properties.Metadata, properties.LastModified);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<BlockInfo> IndexAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length > 32 || !prefix.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
        {
            throw new ArgumentException($"index prefix '{prefix}' is not lower-case hex", nameof(prefix));
        }

        var root = _connection.Location.Prefix;
        await foreach (var item in BlobListing.ListAsync(_connection, root + prefix, BlobTraits.Metadata, _time, _logger, cancellationToken, _listRetry).ConfigureAwait(false))
        {
            var name = item.Name[root.Length..];
            if (!BlockHash.IsValid(name) || IsTrashed(item.Metadata))
            {
                continue;
            }

            var size = item.Properties.ContentLength ?? 0;
            var lastModified = item.Properties.LastModified ?? DateTimeOffset.UnixEpoch;
            if (size == 0 && name != EmptyBlockHash && Age(lastModified) < _writeRaceInterval)
            {
                // Most likely a block whose upload has not committed yet; it has no value either way.
                continue;
            }

            yield return new BlockInfo(name, size, Mtime(item.Metadata, lastModified));
        }
    }

    /// <inheritdoc />
    public async Task TrashAsync(string hash, CancellationToken cancellationToken = default)
    {
        BlockHash.Validate(hash);
        for (var attempt = 1; attempt <= ConditionAttempts; attempt++)
        {
            var properties = await GetLivePropertiesAsync(hash, cancellationToken).ConfigureAwait(false);
            if (Age(Mtime(properties.Metadata, properties.LastModified)) < _settings.BlobSignatureTtl)
            {
                return;
            }

            // If-Match on the ETag we judged the age by: a write or touch in between wins over this trash.
            var conditions = new BlobRequestConditions { IfMatch = properties.ETag };
            if (_settings.TrashLifetime <= TimeSpan.Zero)
            {
                if (await TryDeleteAsync(hash, conditions, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }

            var metadata = new Dictionary<string, string>(properties.Metadata, StringComparer.OrdinalIgnoreCase)
            {
                [ExpiresAtKey] = (_time.GetUtcNow() + _settings.TrashLifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            };
            if (await TrySetMetadataAsync(hash, metadata, conditions, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }

        throw new ConnectorException($"cannot trash block {hash} on {_connection.Location}: it kept changing ({ConditionAttempts} attempts)");
    }

    /// <inheritdoc />
    public async Task UntrashAsync(string hash, CancellationToken cancellationToken = default)
    {
        BlockHash.Validate(hash);
        for (var attempt = 1; attempt <= ConditionAttempts; attempt++)
        {
            var properties = await TryGetPropertiesAsync(hash, cancellationToken).ConfigureAwait(false)
                ?? throw new NotFoundException($"block {hash} is not in the trash of {_connection.Location}");
            if (!IsTrashed(properties.Metadata))
            {
                throw new NotFoundException($"block {hash} is not in the trash of {_connection.Location}");
            }

            if (ExpiresAt(properties.Metadata) is { } expiry && expiry <= _time.GetUtcNow())
            {
                throw new NotFoundException($"block {hash} left the trash of {_connection.Location} at {expiry:O}: it can no longer be untrashed");
            }

            var metadata = new Dictionary<string, string>(properties.Metadata, StringComparer.OrdinalIgnoreCase);
            metadata.Remove(ExpiresAtKey);
            metadata[TouchKey] = NowNanoseconds();
            if (await TrySetMetadataAsync(hash, metadata, new BlobRequestConditions { IfMatch = properties.ETag }, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }

        throw new ConnectorException($"cannot untrash block {hash} on {_connection.Location}: it kept changing ({ConditionAttempts} attempts)");
    }

    /// <inheritdoc />
    public async Task EmptyTrashAsync(CancellationToken cancellationToken = default)
    {
        var root = _connection.Location.Prefix;
        int deleted = 0, remaining = 0;
        long bytes = 0;
        await foreach (var item in BlobListing.ListAsync(_connection, root, BlobTraits.Metadata, _time, _logger, cancellationToken, _listRetry).ConfigureAwait(false))
        {
            var name = item.Name[root.Length..];
            if (!BlockHash.IsValid(name) || !IsTrashed(item.Metadata))
            {
                continue;
            }

            if (ExpiresAt(item.Metadata) is not { } expiry)
            {
                Log.BadExpiry(_logger, name, _name);
                remaining++;
                continue;
            }

            // If-Match: a block written or untrashed since the listing stays.
            if (expiry <= _time.GetUtcNow() &&
                await TryDeleteAsync(name, new BlobRequestConditions { IfMatch = item.Properties.ETag }, cancellationToken).ConfigureAwait(false))
            {
                deleted++;
                bytes += item.Properties.ContentLength ?? 0;
            }
            else
            {
                remaining++;
            }
        }

        Log.TrashEmptied(_logger, _name, deleted, bytes, remaining);
    }

    /// <inheritdoc />
    public Task<VolumeStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
        // Cloud storage has no "free", and summing "used" would list the whole container.
        Task.FromResult(new VolumeStatus(-1, -1));

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static bool IsTrashed(IDictionary<string, string>? metadata) =>
        metadata is not null && TryGet(metadata, ExpiresAtKey) is { Length: > 0 };

    /// <summary>
    /// A block's mtime: its Last-Modified (the server's clock), or the time a coffer volume recorded in
    /// <see cref="TouchKey"/> (the volume clock's Unix nanoseconds) when that is later. A keepstore touch
    /// moves Last-Modified and writes a value of its own, so the later of the two is never stale.
    /// </summary>
    private static DateTimeOffset Mtime(IDictionary<string, string>? metadata, DateTimeOffset lastModified)
    {
        if (metadata is not null &&
            long.TryParse(TryGet(metadata, TouchKey), NumberStyles.None, CultureInfo.InvariantCulture, out var nanoseconds) &&
            nanoseconds / 100 < DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks)
        {
            var touched = DateTimeOffset.UnixEpoch.AddTicks(nanoseconds / 100);
            return touched > lastModified ? touched : lastModified;
        }

        return lastModified;
    }

    private static DateTimeOffset? ExpiresAt(IDictionary<string, string> metadata) =>
        long.TryParse(TryGet(metadata, ExpiresAtKey), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    // Azure metadata names are case-insensitive; the SDK's dictionary may not be.
    private static string? TryGet(IDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out var value) ? value : metadata.FirstOrDefault(p => string.Equals(p.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

    private static async Task<(bool Equal, string Hash)> CompareStreamAsync(Stream content, ReadOnlyMemory<byte> expected, CancellationToken cancellationToken)
    {
#pragma warning disable CA5351 // MD5 names Keep blocks; it is not used for security here.
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            var equal = true;
            long position = 0;
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                md5.AppendData(buffer, 0, read);
                if (equal)
                {
                    equal = position + read <= expected.Length &&
                        expected.Span.Slice((int)position, read).SequenceEqual(buffer.AsSpan(0, read));
                }

                position += read;
            }

            return (equal && position == expected.Length, Convert.ToHexStringLower(md5.GetHashAndReset()));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Opens a live block and hands its content to <paramref name="use"/>. A trashed block is absent; an empty
    /// blob whose name is not the empty block's hash is polled until its writer finishes or
    /// the write race interval after its Last-Modified has passed, and never handed over as empty data.
    /// </summary>
    private async Task<T> WithBlockAsync<T>(string hash, string operation, Func<Stream, long, Task<T>> use, CancellationToken cancellationToken)
    {
        var blob = Blob(hash);
        var waitStarted = _time.GetTimestamp();
        while (true)
        {
            // A block of its own, so the download is disposed before the wait below.
            {
                var download = await AzureErrors.Translate(_connection, $"{operation} block {hash} from", async () =>
                {
                    try
                    {
                        return await blob.DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                    }
                    catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
                    {
                        return null;
                    }
                }).ConfigureAwait(false);
                if (download is null)
                {
                    throw new NotFoundException($"block {hash} is not on {_connection.Location}");
                }

                using var result = download.Value;
                var details = result.Details;
                if (IsTrashed(details.Metadata))
                {
                    throw new NotFoundException($"block {hash} is in the trash of {_connection.Location}");
                }

                if (details.ContentLength > 0 || hash == EmptyBlockHash)
                {
                    var counting = new CountingStream(result.Content);
                    var value = await AzureErrors.Translate(_connection, $"{operation} block {hash} from", () => use(counting, details.ContentLength)).ConfigureAwait(false);
                    if (counting.BytesRead != details.ContentLength)
                    {
                        throw new ConnectorException($"{operation} block {hash} from {_connection.Location}: got {counting.BytesRead} of {details.ContentLength} bytes");
                    }

                    return value;
                }

                var deadline = details.LastModified + _writeRaceInterval;
                var age = Age(details.LastModified);
                // Bounded by the clock and by elapsed time, so a clock that stands still cannot hold a read forever.
                if (_time.GetUtcNow() >= deadline || _time.GetElapsedTime(waitStarted) >= _writeRaceInterval)
                {
                    throw new NotFoundException(
                        $"block {hash} on {_connection.Location} is an empty blob {age.TotalSeconds:0} s old: an upload never finished, treating it as missing");
                }

                Log.EmptyBlockRace(_logger, hash, _name, age, deadline);
            }

            await Task.Delay(_writeRacePoll, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> TryUploadAsync(BlobClient blob, ReadOnlyMemory<byte> data, BlobRequestConditions conditions, CancellationToken cancellationToken)
    {
        var options = new BlobUploadOptions
        {
            Conditions = conditions,
            // The hash was verified by the caller; storing it as Content-MD5 lets a later writer of the
            // same block recognise identical content without downloading it.
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream", ContentHash = Convert.FromHexString(blob.Name[^32..]) },
            Metadata = new Dictionary<string, string> { [TouchKey] = NowNanoseconds() },
            // One Put Blob request: the block appears complete or not at all.
            TransferOptions = new Azure.Storage.StorageTransferOptions { InitialTransferSize = BlockHash.MaxBlockSize, MaximumTransferSize = BlockHash.MaxBlockSize },
        };
        return await AzureErrors.Translate(_connection, $"cannot write block {blob.Name[^32..]} to", async () =>
        {
            try
            {
                await blob.UploadAsync(BinaryData.FromBytes(data), options, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (AzureErrors.IsConditionFailed(e) || e.ErrorCode == BlobErrorCode.BlobNotFound)
            {
                return false;
            }
        }).ConfigureAwait(false);
    }

    private async Task<bool> HasContentAsync(string hash, BlobProperties existing, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (existing.ContentLength != data.Length)
        {
            return false;
        }

        if (existing.ContentHash is { Length: 16 } stored && Convert.ToHexStringLower(stored) == hash)
        {
            return true;
        }

        try
        {
            return await WithBlockAsync(hash, "cannot compare", async (content, _) =>
                (await CompareStreamAsync(content, data, cancellationToken).ConfigureAwait(false)).Equal, cancellationToken).ConfigureAwait(false);
        }
        catch (NotFoundException)
        {
            // Trashed (or deleted) meanwhile: treat as different, and the conditional replace sorts it out.
            return false;
        }
    }

    private async Task<BlobProperties?> TryGetPropertiesAsync(string hash, CancellationToken cancellationToken)
    {
        return await AzureErrors.Translate(_connection, $"cannot read block {hash} from", async () =>
        {
            try
            {
                return (BlobProperties?)(await Blob(hash).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            }
            catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode != BlobErrorCode.ContainerNotFound)
            {
                return null;
            }
        }).ConfigureAwait(false);
    }

    private async Task<BlobProperties> GetLivePropertiesAsync(string hash, CancellationToken cancellationToken)
    {
        var properties = await TryGetPropertiesAsync(hash, cancellationToken).ConfigureAwait(false)
            ?? throw new NotFoundException($"block {hash} is not on {_connection.Location}");
        return IsTrashed(properties.Metadata)
            ? throw new NotFoundException($"block {hash} is in the trash of {_connection.Location}")
            : properties;
    }

    private async Task<bool> TrySetMetadataAsync(string hash, IDictionary<string, string> metadata, BlobRequestConditions conditions, CancellationToken cancellationToken)
    {
        return await AzureErrors.Translate(_connection, $"cannot update block {hash} on", async () =>
        {
            try
            {
                await Blob(hash).SetMetadataAsync(metadata, conditions, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (AzureErrors.IsConditionFailed(e) || e.ErrorCode == BlobErrorCode.BlobNotFound)
            {
                return false;
            }
        }).ConfigureAwait(false);
    }

    private async Task<bool> TryDeleteAsync(string hash, BlobRequestConditions conditions, CancellationToken cancellationToken)
    {
        return await AzureErrors.Translate(_connection, $"cannot delete block {hash} from", async () =>
        {
            try
            {
                await Blob(hash).DeleteAsync(DeleteSnapshotsOption.IncludeSnapshots, conditions, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (AzureErrors.IsConditionFailed(e) || e.ErrorCode == BlobErrorCode.BlobNotFound)
            {
                return false;
            }
        }).ConfigureAwait(false);
    }

    private BlobClient Blob(string hash) => _connection.Container.GetBlobClient(_connection.Location.Prefix + hash);

    // Last-Modified comes from the server's clock, "now" from ours (or the test's).
    private TimeSpan Age(DateTimeOffset lastModified) => _time.GetUtcNow() - lastModified;

    private string NowNanoseconds() => BlockHash.ToUnixNanoseconds(_time.GetUtcNow()).ToString(CultureInfo.InvariantCulture);
}

/// <summary>The keepstore Azure driver parameters a volume can be given as options (null members keep the defaults).</summary>
/// <param name="WriteRaceInterval">How long after its Last-Modified an empty blob may still be an upload in progress.</param>
/// <param name="WriteRacePoll">How often such a blob is looked at again.</param>
/// <param name="ListRetry">How listing pages that fail with a transient status are retried.</param>
internal sealed record AzBlobVolumeTuning(TimeSpan? WriteRaceInterval, TimeSpan? WriteRacePoll, ListRetry? ListRetry);
