using System.Security.Cryptography;
using System.Text;
using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;

namespace Coffer.Engine.Repository.Crypto;

/// <summary>One key of a store, as <c>coffer key list</c> shows it.</summary>
/// <param name="Id">The key object's name (the SHA-256 of its bytes), or <see cref="StoreKeyring.ConfigKeyId"/>.</param>
/// <param name="Created">When the key was made.</param>
/// <param name="Hostname">The host it was made on, when known.</param>
/// <param name="Username">The user who made it, when known.</param>
/// <param name="InUse">Whether this key opened the store now.</param>
internal sealed record StoreKeyInfo(string Id, DateTimeOffset Created, string? Hostname, string? Username, bool InUse)
{
    /// <summary>Whether this is the key a store made before key objects keeps in its CONFIG.</summary>
    public bool InConfig => Id == StoreKeyring.ConfigKeyId;
}

/// <summary>
/// A store's keys (docs/store-format.md, "Keys"): each key object wraps the one master key under its own
/// passphrase. Opening tries each key in turn; adding, removing and changing a passphrase never leave the
/// store without a working key.
/// </summary>
internal static class StoreKeyring
{
    /// <summary>The id under which the key kept in CONFIG (stores made before key objects) is listed.</summary>
    public const string ConfigKeyId = "config";

    /// <summary>Creates a store: CONFIG, then (encrypted, on a connector that has key objects) its first key object.</summary>
    public static async Task<StoreConfig> CreateAsync(IStorageConnector storage, string? passphrase, TimeProvider time, string hostName, CancellationToken cancellationToken)
    {
        var keyInConfig = passphrase is not null && !await HasKeyObjectsAsync(storage.ListAsync(StorageObjectClass.Key, cancellationToken)).ConfigureAwait(false);
        var (config, keys) = StoreKeys.CreateNew(passphrase, time, keyInConfig);
        await storage.CreateAsync(config.ToJson(), cancellationToken).ConfigureAwait(false);
        if (passphrase is not null && !keyInConfig)
        {
            var (name, bytes) = NewKeyObject(config, keys, passphrase, time, hostName);
            await storage.PutAsync(StorageObjectClass.Key, name, new MemoryStream(bytes, writable: false), cancellationToken).ConfigureAwait(false);
        }

        return config;
    }

    /// <summary>Opens a store's keys: a plaintext store's, else the first key (CONFIG's, then each key object) the passphrase unwraps.</summary>
    /// <returns>The keys, and the id of the key that opened them (null for a plaintext store).</returns>
    /// <exception cref="WrongPassphraseException">No key of the store opens with the passphrase.</exception>
    public static async Task<(StoreKeys Keys, string? KeyId)> OpenAsync(IStorageConnector storage, StoreConfig config, Func<string> passphrase, CancellationToken cancellationToken)
    {
        if (config.Encryption is not { } encryption)
        {
            return (StoreKeys.Open(config, passphrase), null);
        }

        StoreKeys.CheckAlgorithms(config);
        var objects = await ReadKeyObjectsAsync(storage, cancellationToken).ConfigureAwait(false);
        var inConfig = encryption.WrappedKey is not null;
        if (objects.Count == 0 && !inConfig)
        {
            throw new StoreFormatException($"{storage.Description} has no key: every key object is gone, so nothing can open it");
        }

        // Argon2id per key, in turn (restic does the same): a store with many keys opens more slowly.
        var given = passphrase();
        if (inConfig && StoreKeys.TryUnwrap(config, encryption.Kdf!, encryption.WrappedKey!, Encoding.ASCII.GetBytes(config.Id), given) is { } configKeys)
        {
            return (configKeys, ConfigKeyId);
        }

        foreach (var (name, key) in objects)
        {
            if (key is not null && StoreKeys.TryUnwrap(config, key.Kdf, key.WrappedKey, KeyAssociatedData(config), given) is { } keys)
            {
                return (keys, name);
            }
        }

        var count = objects.Count + (inConfig ? 1 : 0);
        throw new WrongPassphraseException($"wrong passphrase: none of the store's {count} key{(count == 1 ? "" : "s")} opens with it (a removed key's passphrase no longer does)");
    }

    /// <summary>Every key of an open encrypted store, oldest first.</summary>
    public static async Task<List<StoreKeyInfo>> ListAsync(CofferStore store, CancellationToken cancellationToken)
    {
        var keys = new List<StoreKeyInfo>();
        if (store.Config.Encryption?.WrappedKey is not null)
        {
            keys.Add(new StoreKeyInfo(ConfigKeyId, store.Config.Created, null, null, store.KeyId == ConfigKeyId));
        }

        foreach (var (name, key) in await ReadKeyObjectsAsync(store, cancellationToken).ConfigureAwait(false))
        {
            _ = key ?? throw new StoreFormatException($"key object {name} is damaged: it is not a key, or not the one its name says");
            keys.Add(new StoreKeyInfo(name, key.Created, key.Hostname, key.Username, store.KeyId == name));
        }

        return keys.OrderBy(k => k.Created).ThenBy(k => k.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>Adds a key for <paramref name="passphrase"/>; returns its id.</summary>
    public static async Task<string> AddAsync(CofferStore store, string passphrase, TimeProvider time, string hostName, CancellationToken cancellationToken)
    {
        if (!await HasKeyObjectsAsync(store.ListObjectsAsync(StorageObjectClass.Key, cancellationToken)).ConfigureAwait(false))
        {
            throw new StoreException($"{store.Description} cannot hold key objects: its storage package predates them (ABI 1.2); install a newer one with 'coffer pkg add'");
        }

        var (name, bytes) = NewKeyObject(store.Config, store.Keys, passphrase, time, hostName);
        await store.PutObjectAsync(StorageObjectClass.Key, name, new MemoryStream(bytes, writable: false), cancellationToken).ConfigureAwait(false);
        return name;
    }

    /// <summary>Removes the key <paramref name="reference"/> (an id or a unique prefix of one); returns its id.</summary>
    /// <exception cref="StoreException">No such key, several, the key in use, CONFIG's key, or the last key: nothing removed.</exception>
    public static async Task<string> RemoveAsync(CofferStore store, string reference, CancellationToken cancellationToken)
    {
        var keys = await ListAsync(store, cancellationToken).ConfigureAwait(false);
        var key = Find(keys, reference);
        if (key.InConfig)
        {
            throw new StoreException("the key in CONFIG cannot be removed: CONFIG is written once, when the store is created (a store made before key objects keeps it; docs/store-format.md)");
        }

        if (keys.Count == 1)
        {
            throw new StoreException($"key {Short(key.Id)} is the store's last key: add another with 'coffer key add' first");
        }

        if (key.InUse)
        {
            throw new StoreException($"key {Short(key.Id)} opened this store: open it with another key's passphrase to remove this one, or change this key's passphrase with 'coffer key passwd'");
        }

        await DeleteKeyAsync(store, key.Id, cancellationToken).ConfigureAwait(false);
        return key.Id;
    }

    /// <summary>
    /// Changes the passphrase of the key in use: adds a key for <paramref name="newPassphrase"/>, then removes
    /// the old one. A crash in between leaves both keys, never none.
    /// </summary>
    /// <returns>The new key's id and the removed key's id.</returns>
    public static async Task<(string Added, string Removed)> ChangePassphraseAsync(CofferStore store, string newPassphrase, TimeProvider time, string hostName, CancellationToken cancellationToken)
    {
        var old = store.KeyId ?? throw new StoreException("a plaintext store has no keys");
        if (old == ConfigKeyId)
        {
            throw new StoreException("the key in use is the one in CONFIG, which cannot be removed: 'coffer key add' adds a passphrase, but the old one keeps working (docs/store-format.md)");
        }

        var added = await AddAsync(store, newPassphrase, time, hostName, cancellationToken).ConfigureAwait(false);
        await DeleteKeyAsync(store, old, cancellationToken).ConfigureAwait(false);
        return (added, old);
    }

    /// <summary>A key id as lists and messages show it.</summary>
    public static string Short(string id) => id.Length > 8 ? id[..8] : id;

    private static StoreKeyInfo Find(List<StoreKeyInfo> keys, string reference)
    {
        var matches = reference.Length == 0 ? [] : keys.Where(k => k.Id.StartsWith(reference, StringComparison.OrdinalIgnoreCase)).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new StoreException($"no key '{reference}' in this store: see 'coffer key list'"),
            _ => throw new StoreException($"key prefix '{reference}' matches {matches.Count} keys: give more digits"),
        };
    }

    // Two removals at once could each take the key the other still relies on. Each reads back the keys after
    // deleting: one that finds the key it opened the store with gone puts back what it removed and gives up,
    // so racing removals can leave an extra key, never none.
    private static async Task DeleteKeyAsync(CofferStore store, string id, CancellationToken cancellationToken)
    {
        var bytes = await store.ReadObjectAsync(StorageObjectClass.Key, id, cancellationToken).ConfigureAwait(false);
        await store.DeleteObjectAsync(StorageObjectClass.Key, id, cancellationToken).ConfigureAwait(false);
        var left = await ReadKeyObjectsAsync(store, cancellationToken).ConfigureAwait(false);
        if (store.KeyId is { } inUse && inUse != ConfigKeyId && inUse != id && !left.Exists(k => k.Name == inUse))
        {
            await store.PutObjectAsync(StorageObjectClass.Key, id, new MemoryStream(bytes, writable: false), CancellationToken.None).ConfigureAwait(false);
            throw new StoreException($"another coffer removed key {Short(inUse)} at the same time: key {Short(id)} was put back; run the command again");
        }
    }

    private static (string Name, byte[] Bytes) NewKeyObject(StoreConfig config, StoreKeys keys, string passphrase, TimeProvider time, string hostName)
    {
        var (kdf, wrapped) = keys.WrapForKeyObject(passphrase, KeyAssociatedData(config));
        var bytes = new StoreKeyObject
        {
            Created = time.GetUtcNow(),
            Hostname = hostName,
            Username = Environment.UserName,
            Kdf = kdf,
            WrappedKey = wrapped,
        }.ToJson();
        return (Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes);
    }

    private static byte[] KeyAssociatedData(StoreConfig config) => Encoding.ASCII.GetBytes($"coffer key v1 {config.Id}");

    /// <summary>Every key object's bytes as stored (none on a connector that predates key objects), for an export.</summary>
    public static Task<List<(string Name, byte[] Bytes)>> ReadStoredAsync(CofferStore store, CancellationToken cancellationToken) =>
        ReadStoredAsync(store.ListObjectsAsync(StorageObjectClass.Key, cancellationToken), name => store.ReadObjectAsync(StorageObjectClass.Key, name, cancellationToken));

    private static async Task<List<(string Name, StoreKeyObject? Key)>> ReadKeyObjectsAsync(CofferStore store, CancellationToken cancellationToken) =>
        Parsed(await ReadStoredAsync(store, cancellationToken).ConfigureAwait(false));

    private static async Task<List<(string Name, StoreKeyObject? Key)>> ReadKeyObjectsAsync(IStorageConnector storage, CancellationToken cancellationToken) =>
        Parsed(await ReadStoredAsync(storage.ListAsync(StorageObjectClass.Key, cancellationToken), name => ReadAsync(storage, name, cancellationToken)).ConfigureAwait(false));

    private static async Task<List<(string Name, byte[] Bytes)>> ReadStoredAsync(IAsyncEnumerable<StorageObject> listing, Func<string, Task<byte[]>> read)
    {
        var names = new List<string>();
        try
        {
            await foreach (var item in listing.ConfigureAwait(false))
            {
                names.Add(item.Name);
            }
        }
        catch (ArgumentException)
        {
            // A connector built before key objects (ABI < 1.2) has no place for them: its stores keep the key in CONFIG.
            return [];
        }

        var stored = new List<(string, byte[])>();
        foreach (var name in names.Order(StringComparer.Ordinal))
        {
            stored.Add((name, await read(name).ConfigureAwait(false)));
        }

        return stored;
    }

    // A key object that does not parse, or whose bytes are not what its name says, is kept as null: opening
    // skips it, listing reports it.
    private static List<(string Name, StoreKeyObject? Key)> Parsed(List<(string Name, byte[] Bytes)> stored) =>
        stored.Select(item => (item.Name, Convert.ToHexStringLower(SHA256.HashData(item.Bytes)) == item.Name ? TryParse(item.Bytes) : null)).ToList();

    private static StoreKeyObject? TryParse(byte[] bytes)
    {
        try
        {
            return StoreKeyObject.Parse(bytes) is { Kdf: not null, WrappedKey: not null } key ? key : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static async Task<byte[]> ReadAsync(IStorageConnector storage, string name, CancellationToken cancellationToken)
    {
        var stream = await storage.GetAsync(StorageObjectClass.Key, name, 0, null, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
            return copy.ToArray();
        }
    }

    // Whether a connector has a place for key objects: one built against ABI 1.0 or 1.1 refuses the class it has no name for.
    private static async Task<bool> HasKeyObjectsAsync(IAsyncEnumerable<StorageObject> listing)
    {
        try
        {
            await foreach (var _ in listing.ConfigureAwait(false))
            {
                break;
            }

            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
