using Coffer.Abstractions;
using Coffer.Plumbing;

namespace Coffer.Connectors;

/// <summary>
/// The global <c>--limit-upload</c> / <c>--limit-download</c>: one token bucket per direction, shared by every
/// connector the catalog creates, so the limit holds for the whole process. Upload is what coffer writes (a store's
/// objects, a destination's files); download is what it reads (a store's objects, a source's files, a destination's
/// files read back). A connector's own limit (azblob's <c>upload_limit</c>) applies too, so the stricter one wins.
/// </summary>
/// <param name="Upload">The limiter of writes, or null.</param>
/// <param name="Download">The limiter of reads, or null.</param>
public sealed record TransferLimits(Throttle? Upload, Throttle? Download)
{
    /// <summary>True when neither direction is limited (connectors are then handed out unwrapped).</summary>
    public bool IsEmpty => Upload is null && Download is null;

    internal IStorageConnector Wrap(IStorageConnector storage) => IsEmpty ? storage : new ThrottledStorage(storage, this);

    internal ISourceConnector Wrap(ISourceConnector source) => Download is null ? source : new ThrottledSource(source, Download);

    internal IDestinationConnector Wrap(IDestinationConnector destination) =>
        IsEmpty ? destination
        : destination is IDestinationContent content ? new ThrottledDestinationWithContent(destination, content, this)
        : new ThrottledDestination(destination, this);

    internal static Stream Through(Stream stream, Throttle? throttle) => throttle is null ? stream : new ThrottledReadStream(stream, throttle);

    private sealed class ThrottledStorage(IStorageConnector inner, TransferLimits limits) : IStorageConnector
    {
        public string Description => inner.Description;

        public StorageMode Mode => inner.Mode;

        public Task CreateAsync(ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default) => inner.CreateAsync(config, cancellationToken);

        public Task<byte[]> OpenAsync(CancellationToken cancellationToken = default) => inner.OpenAsync(cancellationToken);

        public async Task PutAsync(StorageObjectClass objectClass, string name, Stream content, CancellationToken cancellationToken = default)
        {
            // The throttled stream owns what it wraps; the caller still owns (and disposes) the content.
            await using var paced = Through(new LeaveOpenStream(content), limits.Upload);
            await inner.PutAsync(objectClass, name, paced, cancellationToken).ConfigureAwait(false);
        }

        public async Task<Stream> GetAsync(StorageObjectClass objectClass, string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
            Through(await inner.GetAsync(objectClass, name, offset, length, cancellationToken).ConfigureAwait(false), limits.Download);

        public Task DeleteAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken = default) => inner.DeleteAsync(objectClass, name, cancellationToken);

        public IAsyncEnumerable<StorageObject> ListAsync(StorageObjectClass objectClass, CancellationToken cancellationToken = default) => inner.ListAsync(objectClass, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private sealed class ThrottledSource(ISourceConnector inner, Throttle download) : ISourceConnector
    {
        public string Description => inner.Description;

        public IAsyncEnumerable<TreeEntry> ScanAsync(CancellationToken cancellationToken = default) => inner.ScanAsync(cancellationToken);

        public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default) =>
            new ThrottledReadStream(await inner.OpenReadAsync(path, cancellationToken).ConfigureAwait(false), download);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private class ThrottledDestination(IDestinationConnector inner, TransferLimits limits) : IDestinationConnector
    {
        public string Description => inner.Description;

        protected TransferLimits Limits => limits;

        public Task CreateDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default) => inner.CreateDirectoryAsync(entry, cancellationToken);

        public async Task WriteFileAsync(TreeEntry entry, Stream content, CancellationToken cancellationToken = default)
        {
            await using var paced = Through(new LeaveOpenStream(content), limits.Upload);
            await inner.WriteFileAsync(entry, paced, cancellationToken).ConfigureAwait(false);
        }

        public Task CreateSymlinkAsync(TreeEntry entry, CancellationToken cancellationToken = default) => inner.CreateSymlinkAsync(entry, cancellationToken);

        public Task FinishDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default) => inner.FinishDirectoryAsync(entry, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    // The restore's --overwrite/--verify/--delete need the optional interface: the wrapper keeps it when the destination has it.
    private sealed class ThrottledDestinationWithContent(IDestinationConnector inner, IDestinationContent content, TransferLimits limits)
        : ThrottledDestination(inner, limits), IDestinationContent
    {
        public IAsyncEnumerable<TreeEntry> ScanContentAsync(CancellationToken cancellationToken = default) => content.ScanContentAsync(cancellationToken);

        public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default) =>
            Through(await content.OpenReadAsync(path, cancellationToken).ConfigureAwait(false), Limits.Download);

        public Task DeleteAsync(TreeEntry entry, CancellationToken cancellationToken = default) => content.DeleteAsync(entry, cancellationToken);
    }

    // Hands a stream on without letting the wrapper that reads it dispose it.
    private sealed class LeaveOpenStream(Stream inner) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
    }
}
