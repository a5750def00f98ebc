using Azure;
using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;
using Microsoft.Extensions.Logging;

namespace Coffer.Plugins.AzBlob;

/// <summary>
/// Restores a tree into an Azure Blob container (or under a prefix): each file becomes a block blob with its
/// content type, metadata, access tier and other <c>azure.*</c> properties. Directories exist only through the
/// blobs in them, so empty directories are not kept. A symbolic link becomes a small blob whose content is the
/// target, with content type <c>inode/symlink</c> and the metadata <c>coffer_symlink</c> (the target,
/// percent-encoded), which <see cref="AzBlobSource"/> reads back as a link; nothing is written beneath a link.
/// Modification times are kept in the metadata <c>coffer_mtime</c>, since Last-Modified cannot be set.
/// What it holds is read back as <see cref="AzBlobSource"/> reads it (<see cref="IDestinationContent"/>); a blob
/// upload is atomic, so an interrupted restore never leaves a partial blob.
/// </summary>
public sealed class AzBlobDestination : IDestinationConnector, IDestinationContent
{
    private readonly AzureConnection _connection;
    private readonly AzBlobSource _content;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly TransferSettings _transfer;

    // Links written by this destination: nothing may be written beneath one, as on a file system.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _links = new(StringComparer.Ordinal);

    internal AzBlobDestination(AzureConnection connection, TransferSettings transfer, TimeProvider time, ILogger logger)
    {
        _connection = connection;
        _transfer = transfer;
        _content = new AzBlobSource(connection, transfer, time, logger, readsAhead: false);
        _logger = logger;
        _name = connection.Location.ToString();
        Description = connection.Describe("azure destination");
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public Task CreateDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        try
        {
            CheckPath(entry.Path);
            return Task.CompletedTask; // prefixes exist through the blobs under them
        }
        catch (Exception e) when (e is PathEscapesRootException or ArgumentException)
        {
            return Task.FromException(e);
        }
    }

    /// <inheritdoc />
    public async Task WriteFileAsync(TreeEntry entry, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(content);
        var name = BlobNameOf(entry);
        var options = UploadOptions(entry, entry.ContentType, extra: null);
        await AzureErrors.Translate(_connection, $"cannot write '{entry.Path}' to", () =>
            _connection.Container.GetBlobClient(name).UploadAsync(_transfer.ForUpload(content), options, cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task CreateSymlinkAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (string.IsNullOrEmpty(entry.SymlinkTarget))
        {
            throw new ArgumentException($"symbolic link '{entry.Path}' has no target", nameof(entry));
        }

        var name = BlobNameOf(entry);
        var options = UploadOptions(entry, BlobEntries.SymlinkContentType, (BlobEntries.SymlinkKey, Uri.EscapeDataString(entry.SymlinkTarget)));
        await AzureErrors.Translate(_connection, $"cannot write link '{entry.Path}' to", () =>
            _connection.Container.GetBlobClient(name).UploadAsync(BinaryData.FromString(entry.SymlinkTarget), options, cancellationToken)).ConfigureAwait(false);
        _links[entry.Path] = true;
    }

    /// <inheritdoc />
    public Task FinishDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        try
        {
            CheckPath(entry.Path);
            return Task.CompletedTask; // a prefix has no mode or mtime of its own
        }
        catch (Exception e) when (e is PathEscapesRootException or ArgumentException)
        {
            return Task.FromException(e);
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<TreeEntry> ScanContentAsync(CancellationToken cancellationToken = default) => _content.ScanAsync(cancellationToken);

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default) => _content.OpenReadAsync(path, cancellationToken);

    /// <inheritdoc />
    public async Task DeleteAsync(TreeEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var name = BlobNameOf(entry);

        // A directory exists through its blobs (gone by now, deepest first) or as a folder marker blob "name/".
        var blob = entry.Kind == EntryKind.Directory ? name + "/" : name;
        await AzureErrors.Translate(_connection, $"cannot remove '{entry.Path}' from", () =>
            _connection.Container.GetBlobClient(blob).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken)).ConfigureAwait(false);
        _links.TryRemove(entry.Path, out _);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Creates the container when it is missing; a SAS that may not do so needs the container to exist.</summary>
    internal async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_connection.Anonymous)
        {
            return;
        }

        await AzureErrors.Translate(_connection, "cannot create the container for", async () =>
        {
            try
            {
                await _connection.Container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 403 && e.ErrorCode is not ("AuthenticationFailed" or null or ""))
            {
                // Permission to write blobs but not to create containers: fine if the container exists.
            }
        }).ConfigureAwait(false);
    }

    /// <summary>The blob name of a path, refusing paths that leave the root or pass through a link written here.</summary>
    private string CheckPath(string path)
    {
        var name = TreePaths.ToBlobName(_connection.Location, path);
        for (var slash = path.IndexOf('/', StringComparison.Ordinal); slash >= 0; slash = path.IndexOf('/', slash + 1))
        {
            if (_links.ContainsKey(path[..slash]))
            {
                throw new PathEscapesRootException($"path '{path}' goes through the link '{path[..slash]}' in {_connection.Location}: refused");
            }
        }

        return name;
    }

    private string BlobNameOf(TreeEntry entry)
    {
        var name = CheckPath(entry.Path);
        if (entry.Path.Length == 0)
        {
            throw new ArgumentException("the root is a directory, not a file", nameof(entry));
        }

        if (_connection.Anonymous)
        {
            throw new ReadOnlyException($"cannot write '{entry.Path}': {_connection.Location} is opened anonymously (no_auth) and read-only");
        }

        return name;
    }

    private BlobUploadOptions UploadOptions(TreeEntry entry, string? contentType, (string Key, string Value)? extra)
    {
        var headers = new BlobHttpHeaders { ContentType = contentType };
        var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        AccessTier? tier = null;
        foreach (var (key, value) in entry.Metadata)
        {
            switch (key)
            {
                case BlobEntries.Tier:
                    // Archive would make the restored blob unreadable until rehydrated: it gets the account's default tier.
                    tier = value is "Hot" or "Cool" or "Cold" ? new AccessTier(value) : null;
                    continue;
                case BlobEntries.ContentEncoding:
                    headers.ContentEncoding = value;
                    continue;
                case BlobEntries.ContentLanguage:
                    headers.ContentLanguage = value;
                    continue;
                case BlobEntries.ContentDisposition:
                    headers.ContentDisposition = value;
                    continue;
                case BlobEntries.CacheControl:
                    headers.CacheControl = value;
                    continue;
            }

            if (BlobEntries.IsReserved(key))
            {
                continue;
            }

            if (!BlobEntries.IsValidMetadataName(key))
            {
                Log.MetadataSkipped(_logger, entry.Path, key, _name, "Azure metadata names are C# identifiers");
            }
            else if (!BlobEntries.IsValidMetadataValue(value))
            {
                Log.MetadataSkipped(_logger, entry.Path, key, _name, "Azure metadata values are printable ASCII");
            }
            else
            {
                metadata[key] = value;
            }
        }

        if (entry.ModifiedTime != default)
        {
            metadata[BlobEntries.MtimeKey] = BlobEntries.FormatMtime(entry.ModifiedTime);
        }

        if (extra is { } pair)
        {
            metadata[pair.Key] = pair.Value;
        }

        return new BlobUploadOptions
        {
            HttpHeaders = headers,
            Metadata = metadata,
            // The access_tier option wins over the tier the entry recorded.
            AccessTier = _transfer.Tier ?? tier,
            TransferOptions = _transfer.TransferOptions,
        };
    }
}
