using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;
using Microsoft.Extensions.Logging;

namespace Coffer.Plugins.AzBlob;

/// <summary>
/// A store in an Azure Blob container (or under a prefix): the plaintext config in the blob <c>CONFIG</c>, each
/// object in <c>&lt;class&gt;/&lt;name&gt;</c> (<c>packfile/</c>, <c>index/</c>, <c>snapshot/</c>, <c>lock/</c>, <c>key/</c>).
/// Creation is atomic (If-None-Match on <c>CONFIG</c>); large objects are uploaded in 8 MiB blocks and
/// committed at once, so an object is either absent or complete.
/// </summary>
public sealed class AzBlobStorage : IStorageConnector
{
    /// <summary>The blob, under the prefix, that holds the store's config.</summary>
    public const string ConfigBlobName = "CONFIG";

    private readonly AzureConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TransferSettings _transfer;

    internal AzBlobStorage(AzureConnection connection, TransferSettings transfer, bool readOnly, TimeProvider time, ILogger logger)
    {
        _connection = connection;
        _transfer = transfer;
        _time = time;
        _logger = logger;
        Mode = readOnly || connection.Anonymous ? StorageMode.ReadOnly : StorageMode.ReadWrite;
        Description = connection.Describe("azure store") + (Mode == StorageMode.ReadOnly ? ", read-only" : string.Empty);
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public StorageMode Mode { get; }

    /// <inheritdoc />
    public async Task CreateAsync(ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly("create a store");
        var container = _connection.Container;
        await AzureErrors.Translate(_connection, "cannot create the container for", async () =>
        {
            try
            {
                await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 403 && e.ErrorCode is not ("AuthenticationFailed" or null or ""))
            {
                // A SAS scoped to one container may not create containers; the container then has to exist already.
            }
        }).ConfigureAwait(false);

        var created = await AzureErrors.Translate(_connection, "cannot create a store in", async () =>
        {
            try
            {
                await container.GetBlobClient(_connection.Location.Prefix + ConfigBlobName).UploadAsync(
                    BinaryData.FromBytes(config),
                    new BlobUploadOptions
                    {
                        Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                        HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
                    },
                    cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (AzureErrors.IsConditionFailed(e))
            {
                return false;
            }
        }).ConfigureAwait(false);
        if (!created)
        {
            throw new StoreAlreadyExistsException($"a store already exists at {_connection.Location}: open it, or choose another container or prefix");
        }
    }

    /// <inheritdoc />
    public async Task<byte[]> OpenAsync(CancellationToken cancellationToken = default)
    {
        var blob = _connection.Container.GetBlobClient(_connection.Location.Prefix + ConfigBlobName);
        return await AzureErrors.Translate(_connection, "cannot open the store at", async () =>
        {
            try
            {
                var content = await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
                return content.Value.Content.ToArray();
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw new NotFoundException($"no store at {_connection.Location}: create one first", e);
            }
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task PutAsync(StorageObjectClass objectClass, string name, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var blob = _connection.Container.GetBlobClient(ObjectBlobName(objectClass, name));
        ThrowIfReadOnly($"write {objectClass} {name}");
        await AzureErrors.Translate(_connection, $"cannot write {ClassFolder(objectClass)}/{name} to", () =>
            blob.UploadAsync(
                _transfer.ForUpload(content),
                new BlobUploadOptions
                {
                    HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
                    // Small objects in one Put Blob; large ones as 8 MiB blocks (max_concurrency in flight) committed at once.
                    TransferOptions = _transfer.TransferOptions,
                    // Only packfiles take the tier: the small, often read and rewritten index, snapshot, key and lock
                    // objects stay in the account's default tier (cool and cold charge per read and for early deletion).
                    AccessTier = objectClass == StorageObjectClass.Packfile ? _transfer.Tier : null,
                },
                cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<Stream> GetAsync(StorageObjectClass objectClass, string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "a length is zero or more");
        }

        var blob = _connection.Container.GetBlobClient(ObjectBlobName(objectClass, name));
        var what = $"{ClassFolder(objectClass)}/{name}";
        return await AzureErrors.Translate(_connection, $"cannot read {what} from", async () =>
        {
            try
            {
                if (length == 0)
                {
                    await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                    return (Stream)new MemoryStream([], writable: false);
                }

                var download = await blob.DownloadStreamingAsync(
                    new BlobDownloadOptions { Range = new HttpRange(offset, length) },
                    cancellationToken).ConfigureAwait(false);
                return _transfer.ForDownload(new TranslatingReadStream(download.Value.Content, e => AzureErrors.Convert(_connection, $"cannot read {what} from", e)));
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw new NotFoundException($"no {what} in the store at {_connection.Location}", e);
            }
            catch (RequestFailedException e) when (e.Status == 416)
            {
                // A range starting at or past the end: nothing to read, as a file read there gives.
                return new MemoryStream([], writable: false);
            }
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken = default)
    {
        var blob = _connection.Container.GetBlobClient(ObjectBlobName(objectClass, name));
        ThrowIfReadOnly($"delete {objectClass} {name}");
        await AzureErrors.Translate(_connection, $"cannot delete {ClassFolder(objectClass)}/{name} from", () =>
            blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StorageObject> ListAsync(StorageObjectClass objectClass, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var folder = _connection.Location.Prefix + ClassFolder(objectClass) + "/";
        IAsyncEnumerable<BlobItem> items = BlobListing.ListAsync(_connection, folder, BlobTraits.None, _time, _logger, cancellationToken);
        await using var enumerator = items.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            bool more;
            try
            {
                more = await enumerator.MoveNextAsync().ConfigureAwait(false);
            }
            catch (NotFoundException)
            {
                yield break; // no container yet: no objects
            }

            if (!more)
            {
                yield break;
            }

            var name = enumerator.Current.Name[folder.Length..];
            if (StorageObjectName.IsValid(name))
            {
                yield return new StorageObject(name, enumerator.Current.Properties.ContentLength ?? 0);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static string ClassFolder(StorageObjectClass objectClass) => objectClass switch
    {
        StorageObjectClass.Packfile => "packfile",
        StorageObjectClass.Index => "index",
        StorageObjectClass.Snapshot => "snapshot",
        StorageObjectClass.Lock => "lock",
        StorageObjectClass.Key => "key",
        _ => throw new ArgumentOutOfRangeException(nameof(objectClass), objectClass, "not a storage object class"),
    };

    private string ObjectBlobName(StorageObjectClass objectClass, string name)
    {
        StorageObjectName.Validate(name);
        return _connection.Location.Prefix + ClassFolder(objectClass) + "/" + name;
    }

    private void ThrowIfReadOnly(string what)
    {
        if (Mode == StorageMode.ReadOnly)
        {
            throw new ReadOnlyException(_connection.Anonymous
                ? $"cannot {what}: {_connection.Location} is opened anonymously (no_auth) and read-only"
                : $"cannot {what}: the store at {_connection.Location} is opened read-only");
        }
    }
}
