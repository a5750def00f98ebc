using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;
using Microsoft.Extensions.Logging;

namespace Coffer.Plugins.AzBlob;

/// <summary>
/// Reads every blob under a container (and prefix) as a tree: <c>/</c> in blob names makes directories, each
/// blob a file with its size, modification time (<c>coffer_mtime</c> metadata if a restore recorded one, else
/// Last-Modified), content type, metadata and access tier (<c>azure.tier</c>). A blob whose name ends in <c>/</c>
/// (a folder marker) is a directory; a blob marked <c>coffer_symlink</c> is a link.
/// </summary>
public sealed class AzBlobSource : ISourceConnector
{
    private readonly AzureConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TransferSettings _transfer;
    private readonly bool _readsAhead;
    private SourceReadAhead? _readAhead;

    // readsAhead: whether small blobs are fetched ahead of the reads that follow the scan. Not for a destination's
    // read-back, whose blobs a restore rewrites between its scan and its reads (verify would read the old bytes).
    internal AzBlobSource(AzureConnection connection, TransferSettings transfer, TimeProvider time, ILogger logger, bool readsAhead)
    {
        _connection = connection;
        _readsAhead = readsAhead;
        _transfer = transfer;
        _time = time;
        _logger = logger;
        Description = connection.Describe("azure source");
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public async IAsyncEnumerable<TreeEntry> ScanAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var location = _connection.Location;
        yield return new TreeEntry(string.Empty, EntryKind.Directory);

        // Flat listings come sorted by name, but "a-b" sorts before "a/b": remember the directories made so far.
        var directories = new HashSet<string>(StringComparer.Ordinal);

        // Small blobs are fetched ahead of the reads that follow the scan; not under a download limit, which
        // paces the reader's stream (the bytes would already be here).
        _readAhead?.Dispose();
        var readAhead = _readAhead = _readsAhead && _transfer.Download is null ? new SourceReadAhead(_connection.Container) : null;
        await foreach (var item in BlobListing.ListAsync(_connection, location.Prefix, BlobTraits.Metadata, _time, _logger, cancellationToken).ConfigureAwait(false))
        {
            var isFolderMarker = item.Name.EndsWith('/');
            var name = isFolderMarker ? item.Name.TrimEnd('/') : item.Name;
            if (name.Length <= location.Prefix.Length)
            {
                continue; // the prefix's own folder marker
            }

            var path = TreePaths.FromBlobName(location, name);
            if (path is null)
            {
                yield return new TreeEntry(item.Name[location.Prefix.Length..], EntryKind.File)
                {
                    Error = $"blob '{item.Name}' has an empty, '.' or '..' segment in its name and cannot be a path: skipped",
                };
                continue;
            }

            for (var slash = path.IndexOf('/', StringComparison.Ordinal); slash >= 0; slash = path.IndexOf('/', slash + 1))
            {
                var parent = path[..slash];
                if (directories.Add(parent))
                {
                    yield return new TreeEntry(parent, EntryKind.Directory);
                }
            }

            if (isFolderMarker)
            {
                if (directories.Add(path))
                {
                    yield return new TreeEntry(path, EntryKind.Directory)
                    {
                        ModifiedTime = BlobEntries.ModifiedTime(item),
                        Metadata = BlobEntries.ToEntryMetadata(item),
                    };
                }

                continue;
            }

            var target = BlobEntries.SymlinkTarget(item);
            if (target is null)
            {
                readAhead?.Add(path, item.Name, item.Properties.ContentLength ?? 0);
            }

            yield return new TreeEntry(path, target is null ? EntryKind.File : EntryKind.Symlink)
            {
                Size = target is null ? item.Properties.ContentLength ?? 0 : 0,
                ModifiedTime = BlobEntries.ModifiedTime(item),
                ContentType = target is null ? item.Properties.ContentType : null,
                SymlinkTarget = target,
                FileId = item.Properties.ETag?.ToString(),
                Metadata = BlobEntries.ToEntryMetadata(item),
            };
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var name = TreePaths.ToBlobName(_connection.Location, path);
        if (path.Length == 0)
        {
            throw new ArgumentException("the root is a directory, not a file", nameof(path));
        }

        if (_readAhead is { } readAhead && await readAhead.TakeAsync(path).ConfigureAwait(false) is { } fetched)
        {
            return new MemoryStream(fetched, writable: false);
        }

        var blob = _connection.Container.GetBlobClient(name);
        return await AzureErrors.Translate(_connection, $"cannot read '{path}' from", async () =>
        {
            try
            {
                // One streaming GET; a connection lost mid-way resumes from where it stopped with If-Match on the
                // ETag, so a blob replaced meanwhile fails the read instead of mixing two versions.
                var download = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                return _transfer.ForDownload(download.Value.Content);
            }
            catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode != BlobErrorCode.ContainerNotFound)
            {
                throw new NotFoundException($"'{path}' is not in {_connection.Location}", e);
            }
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _readAhead?.Dispose();
        _readAhead = null;
        return ValueTask.CompletedTask;
    }

}
