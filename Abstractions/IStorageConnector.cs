namespace Coffer.Abstractions;

/// <summary>The classes of object a store keeps; a storage connector may lay each out differently.</summary>
public enum StorageObjectClass
{
    /// <summary>Packfiles: many encrypted blobs in one object.</summary>
    Packfile,

    /// <summary>Index and state objects mapping blobs to packfiles.</summary>
    Index,

    /// <summary>Snapshot objects.</summary>
    Snapshot,

    /// <summary>Lock objects.</summary>
    Lock,

    /// <summary>
    /// Key objects: each holds the store's master key wrapped under one passphrase (ABI 1.2). Few and small;
    /// a connector built against an older ABI receives this value without a name of its own.
    /// </summary>
    Key,
}

/// <summary>Whether a store can be written.</summary>
public enum StorageMode
{
    /// <summary>Reads and writes.</summary>
    ReadWrite,

    /// <summary>Reads only.</summary>
    ReadOnly,
}

/// <summary>An object in a store.</summary>
/// <param name="Name">Its name: 1 to 128 characters of <c>[A-Za-z0-9._-]</c>, not starting with a dot.</param>
/// <param name="Size">Its size in bytes.</param>
public readonly record struct StorageObject(string Name, long Size);

/// <summary>
/// The backend of a store. Everything the store holds is opaque objects plus one plaintext config.
/// Puts are atomic: an object is either absent or complete. Implementations are safe for concurrent use.
/// </summary>
public interface IStorageConnector : IAsyncDisposable
{
    /// <summary>A human description of the location; never holds secrets.</summary>
    string Description { get; }

    /// <summary>Whether the store can be written.</summary>
    StorageMode Mode { get; }

    /// <summary>Creates a new store holding <paramref name="config"/>; fails if any store is already there.</summary>
    /// <param name="config">The store's configuration object.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the store exists.</returns>
    /// <exception cref="StoreAlreadyExistsException">A store is already at this location.</exception>
    Task CreateAsync(ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default);

    /// <summary>Opens an existing store.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The config given to <see cref="CreateAsync"/>.</returns>
    /// <exception cref="NotFoundException">No store at this location.</exception>
    Task<byte[]> OpenAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores an object atomically, replacing one of the same name.</summary>
    /// <param name="objectClass">The object's class.</param>
    /// <param name="name">The object's name (see <see cref="StorageObject.Name"/>).</param>
    /// <param name="content">The content, read to the end; may be larger than memory.</param>
    /// <param name="cancellationToken">Cancels the put; nothing partial is left.</param>
    /// <returns>A task that completes when the object is durable.</returns>
    Task PutAsync(StorageObjectClass objectClass, string name, Stream content, CancellationToken cancellationToken = default);

    /// <summary>Reads an object, whole or a byte range of it.</summary>
    /// <param name="objectClass">The object's class.</param>
    /// <param name="name">The object's name.</param>
    /// <param name="offset">The first byte to read.</param>
    /// <param name="length">How many bytes to read; null reads to the end.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>A stream of the requested bytes that the caller disposes.</returns>
    /// <exception cref="NotFoundException">No such object.</exception>
    Task<Stream> GetAsync(StorageObjectClass objectClass, string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes an object; deleting a missing object is not an error.</summary>
    /// <param name="objectClass">The object's class.</param>
    /// <param name="name">The object's name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the object is gone.</returns>
    Task DeleteAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken = default);

    /// <summary>Lists the objects of one class.</summary>
    /// <param name="objectClass">The class.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>The objects, in no particular order.</returns>
    IAsyncEnumerable<StorageObject> ListAsync(StorageObjectClass objectClass, CancellationToken cancellationToken = default);
}

/// <summary>Checks object names for storage connectors, so every backend refuses the same names.</summary>
public static class StorageObjectName
{
    /// <summary>Tells whether <paramref name="name"/> is a valid object name.</summary>
    /// <param name="name">The candidate.</param>
    /// <returns>True when valid.</returns>
    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 128 && name[0] != '.' &&
        name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>Throws unless <paramref name="name"/> is a valid object name.</summary>
    /// <param name="name">The candidate.</param>
    /// <exception cref="ArgumentException">The name is invalid.</exception>
    public static void Validate(string name)
    {
        if (!IsValid(name))
        {
            throw new ArgumentException($"'{name}' is not a valid object name: 1 to 128 of [A-Za-z0-9._-], not starting with a dot", nameof(name));
        }
    }
}
