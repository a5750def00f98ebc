using Coffer.Abstractions;

namespace MyConnector;

/// <summary>
/// A store's backend: one plaintext config plus opaque objects by class. Puts must be atomic (an object is
/// absent or complete), and large objects must stream. The conformance tests in MyConnector.Tests say
/// exactly what is expected; make them pass.
/// </summary>
public sealed class StorageConnector : IStorageConnector
{
    private readonly string _location;

    /// <summary>Creates the connector for a location.</summary>
    /// <param name="location">What follows <c>myconnector://</c>.</param>
    /// <param name="mode">Read-only refuses create, put and delete with <see cref="ReadOnlyException"/>.</param>
    public StorageConnector(string location, StorageMode mode)
    {
        _location = location;
        Mode = mode;
    }

    /// <inheritdoc />
    public string Description => $"myconnector://{_location}";

    /// <inheritdoc />
    public StorageMode Mode { get; }

    /// <inheritdoc />
    public Task CreateAsync(ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException("store the config; throw StoreAlreadyExistsException if a store is there");

    /// <inheritdoc />
    public Task<byte[]> OpenAsync(CancellationToken cancellationToken = default) =>
        throw new NotImplementedException("return the config; throw NotFoundException if there is no store");

    /// <inheritdoc />
    public Task PutAsync(StorageObjectClass objectClass, string name, Stream content, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException("store the object atomically, streaming the content");

    /// <inheritdoc />
    public Task<Stream> GetAsync(StorageObjectClass objectClass, string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException("return the requested byte range; throw NotFoundException if absent");

    /// <inheritdoc />
    public Task DeleteAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException("delete the object; a missing object is not an error");

    /// <inheritdoc />
    public IAsyncEnumerable<StorageObject> ListAsync(StorageObjectClass objectClass, CancellationToken cancellationToken = default) =>
        throw new NotImplementedException("list the objects of the class with their sizes");

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
