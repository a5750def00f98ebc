using System.Collections.Concurrent;
using Coffer.Abstractions;

namespace Coffer.Engine.Tests;

/// <summary>
/// Wraps a real storage connector and counts the reads of each pack and index object, so a test can tell how
/// often an operation opened each. Everything else passes straight through.
/// </summary>
internal sealed class CountingStorage(IStorageConnector inner) : IStorageConnector
{
    /// <summary>How many times each pack was read (ranged or whole).</summary>
    public ConcurrentDictionary<string, int> PackReads { get; } = new(StringComparer.Ordinal);

    /// <summary>How many times each object in the index folder (index objects, the trash object) was read.</summary>
    public ConcurrentDictionary<string, int> IndexReads { get; } = new(StringComparer.Ordinal);

    public string Description => inner.Description;

    public StorageMode Mode => inner.Mode;

    public Task CreateAsync(ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default) => inner.CreateAsync(config, cancellationToken);

    public Task<byte[]> OpenAsync(CancellationToken cancellationToken = default) => inner.OpenAsync(cancellationToken);

    public Task PutAsync(StorageObjectClass objectClass, string name, Stream content, CancellationToken cancellationToken = default) =>
        inner.PutAsync(objectClass, name, content, cancellationToken);

    public Task<Stream> GetAsync(StorageObjectClass objectClass, string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        if (objectClass is StorageObjectClass.Packfile or StorageObjectClass.Index)
        {
            (objectClass == StorageObjectClass.Packfile ? PackReads : IndexReads).AddOrUpdate(name, 1, (_, count) => count + 1);
        }

        return inner.GetAsync(objectClass, name, offset, length, cancellationToken);
    }

    public Task DeleteAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken = default) =>
        inner.DeleteAsync(objectClass, name, cancellationToken);

    public IAsyncEnumerable<StorageObject> ListAsync(StorageObjectClass objectClass, CancellationToken cancellationToken = default) =>
        inner.ListAsync(objectClass, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
