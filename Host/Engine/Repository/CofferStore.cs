using System.Security.Cryptography;
using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Chunking;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository.Crypto;
using Coffer.Engine.Repository.Packs;

namespace Coffer.Engine.Repository;

/// <summary>
/// An open store: its config and keys, the index of every blob, and the reads every command shares
/// (blobs, trees, snapshots). Writing goes through <see cref="PackUploader"/>.
/// </summary>
internal sealed class CofferStore
{
    /// <summary>How many objects a command reads from the store at once.</summary>
    internal const int ParallelReads = 8;

    // Only the repository talks to the connector: operations and commands go through this class's reads and writes.
    private readonly IStorageConnector _storage;

    private CofferStore(IStorageConnector storage, StoreConfig config, StoreKeys keys, string? keyId)
    {
        _storage = storage;
        Config = config;
        Keys = keys;
        KeyId = keyId;
        Codec = new BlobCodec(keys, config.CompressionLevel);
        Chunker = new FastCdc(config.Chunker, keys.ChunkerKey);
    }

    /// <summary>Where the store is, for messages (the connector's description).</summary>
    public string Description => _storage.Description;

    /// <summary>The store cannot be written (a portable store): it cannot hold a lock, and nothing changes under a reader.</summary>
    public bool IsReadOnly => _storage.Mode == StorageMode.ReadOnly;

    public StoreConfig Config { get; }

    public StoreKeys Keys { get; }

    /// <summary>The id of the key that opened the store (<see cref="StoreKeyring"/>); null for a plaintext store.</summary>
    public string? KeyId { get; }

    public BlobCodec Codec { get; }

    public FastCdc Chunker { get; }

    public StoreIndex Index { get; } = new();

    /// <summary>The index objects <see cref="Index"/> was loaded from.</summary>
    public IReadOnlyList<string> LoadedIndexObjects { get; private set; } = [];

    /// <summary>The index objects that could not be read when the index was loaded (their packs were indexed from their headers instead).</summary>
    public IReadOnlyList<DamagedObject> DamagedIndexObjects { get; private set; } = [];

    /// <summary>
    /// Where <see cref="LoadIndexAsync"/> keeps the index cache (<see cref="IndexCache"/>), one directory per
    /// store id under it; null loads the whole index into RAM.
    /// </summary>
    public string? IndexCacheRoot { get; set; }

    /// <summary>
    /// Index objects not in the cache file, in bytes, past which the file is extended by them rather than
    /// they are held in RAM beside it (about 90,000 blobs, 4 MiB of RAM).
    /// </summary>
    internal const long IndexCacheExtensionBytes = 4 << 20;

    /// <summary>The packs <see cref="LoadIndexAsync"/> indexed from their own headers, in memory, because an index object was damaged.</summary>
    public IReadOnlyList<string> PacksIndexedFromHeaders { get; private set; } = [];

    /// <summary>
    /// Where the store reports damage it works around (a damaged snapshot or index object) so the command goes
    /// on: the CLI prints each line once as a warning. Nothing by default.
    /// </summary>
    public Action<string> Warn { get; set; } = _ => { };

    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);

    private void WarnOnce(string line)
    {
        lock (_warned)
        {
            if (!_warned.Add(line))
            {
                return;
            }
        }

        Warn(line);
    }

    /// <summary>Creates a store, with its first key; a null passphrase makes a plaintext store.</summary>
    public static Task<StoreConfig> CreateAsync(IStorageConnector storage, string? passphrase, TimeProvider time, string hostName, CancellationToken cancellationToken) =>
        StoreKeyring.CreateAsync(storage, passphrase, time, hostName, cancellationToken);

    /// <summary>Whether <paramref name="storage"/> holds a store's CONFIG, readable or not.</summary>
    public static async Task<bool> ExistsAsync(IStorageConnector storage, CancellationToken cancellationToken)
    {
        try
        {
            await storage.OpenAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (NotFoundException)
        {
            return false;
        }
    }

    /// <summary>Reads the CONFIG only: whether the store is encrypted decides whether a passphrase is needed.</summary>
    public static async Task<StoreConfig> ReadConfigAsync(IStorageConnector storage, CancellationToken cancellationToken)
    {
        var bytes = await storage.OpenAsync(cancellationToken).ConfigureAwait(false);
        StoreConfig config;
        try
        {
            config = StoreConfig.Parse(bytes);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new StoreFormatException($"{storage.Description} does not hold a coffer store: its CONFIG is not readable", e);
        }

        if (config.Format != StoreConfig.CurrentFormat)
        {
            throw new StoreFormatException($"{storage.Description} has store format {config.Format}; this coffer reads format {StoreConfig.CurrentFormat}: use a matching coffer");
        }

        if (Malformed(config) is { } problem)
        {
            throw new StoreFormatException($"{storage.Description} has a damaged CONFIG: {problem}");
        }

        return config;
    }

    // JSON lets any member be null or out of range; CONFIG is checked whole before anything uses it.
    private static string? Malformed(StoreConfig config) => config switch
    {
        { Id: null or "" } => "no store id",
        { Chunker: null } => "no chunker parameters",
        { Mac: not "hmac-sha256" } => $"unknown blob id MAC '{config.Mac}'",
        { Compression: not "zstd" } => $"unknown compression '{config.Compression}'",
        { CompressionLevel: < 1 or > 22 } => $"compression level {config.CompressionLevel} is not 1 to 22",
        { PackSize: < 4096 or > 1 << 30 } => $"pack size {config.PackSize} is not 4 KiB to 1 GiB",
        { Encryption: null, PlaintextKey: null } => "a plaintext store without its key",
        { Encryption: { Canary: null } } or { Encryption: { Kdf: null, WrappedKey: not null } or { Kdf: not null, WrappedKey: null } } => "incomplete encryption parameters",
        _ => null,
    };

    /// <summary>Opens a store and loads its index (unless <paramref name="loadIndex"/> is false: a command that locks the store loads it after locking).</summary>
    public static async Task<CofferStore> OpenAsync(IStorageConnector storage, StoreConfig config, Func<string> passphrase, CancellationToken cancellationToken, bool loadIndex = true)
    {
        var (keys, keyId) = await StoreKeyring.OpenAsync(storage, config, passphrase, cancellationToken).ConfigureAwait(false);
        var store = new CofferStore(storage, config, keys, keyId);
        if (loadIndex)
        {
            await store.LoadIndexAsync(cancellationToken).ConfigureAwait(false);
        }

        return store;
    }

    /// <summary>
    /// Loads the packs marked for deletion, then every index object; returns the names of those it read. A
    /// damaged index object does not stop the store: it is reported once through <see cref="Warn"/> and kept in
    /// <see cref="DamagedIndexObjects"/>, and the packs no readable index object lists are indexed (in memory)
    /// from their own headers, so their blobs stay readable until 'coffer repair index' rewrites the index.
    /// </summary>
    public async Task<IReadOnlyList<string>> LoadIndexAsync(CancellationToken cancellationToken)
    {
        var listed = await ListIndexObjectSizesAsync(cancellationToken).ConfigureAwait(false);
        var names = listed.Keys.ToList();
        Index.Trashed = (await Trash.ReadAsync(this, cancellationToken).ConfigureAwait(false)).Packs.Keys.ToHashSet(StringComparer.Ordinal);

        var damaged = new System.Collections.Concurrent.ConcurrentBag<DamagedObject>();
        var inRam = names;
        if (!_indexLoaded && IndexCacheDirectory() is { } directory && await OpenIndexCacheAsync(directory, listed, damaged, cancellationToken).ConfigureAwait(false) is { } cache)
        {
            Index.UseCache(cache);
            inRam = names.Where(n => !cache.IndexObjects.Contains(n) && !damaged.Any(d => d.Name == n)).ToList();
        }

        await ReadIndexObjectsAsync(inRam, Index.AddPack, damaged, cancellationToken).ConfigureAwait(false);

        DamagedIndexObjects = damaged.OrderBy(d => d.Name, StringComparer.Ordinal).ToList();
        LoadedIndexObjects = names.Except(DamagedIndexObjects.Select(d => d.Name), StringComparer.Ordinal).ToList();
        foreach (var bad in DamagedIndexObjects.Where(d => !d.Reason.EndsWith("while it was read", StringComparison.Ordinal)))
        {
            WarnOnce($"{bad.Reason}: the packs no other index object lists are read from their own headers; run 'coffer repair index' to rewrite the index");
        }

        if (DamagedIndexObjects.Count > 0)
        {
            PacksIndexedFromHeaders = (await OrphanPacks.IndexInMemoryAsync(this, cancellationToken).ConfigureAwait(false)).Select(p => p.Pack).ToList();
        }

        Index.Compact();
        _indexLoaded = true;
        return LoadedIndexObjects;
    }

    /// <summary>
    /// Reads and authenticates every index object the index cache stands in for, which loading it did not:
    /// the store is the source of truth, so 'check' still names an index object damaged after the cache was
    /// built (it joins <see cref="DamagedIndexObjects"/>). One object at a time per reader: RAM stays bounded.
    /// </summary>
    public async Task VerifyCachedIndexObjectsAsync(CancellationToken cancellationToken)
    {
        if (Index.Cache is not { } cache)
        {
            return;
        }

        var damaged = new System.Collections.Concurrent.ConcurrentBag<DamagedObject>();
        await ReadIndexObjectsAsync(cache.IndexObjects, (_, _) => { }, damaged, cancellationToken).ConfigureAwait(false);
        if (!damaged.IsEmpty)
        {
            DamagedIndexObjects = [.. DamagedIndexObjects.Concat(damaged).OrderBy(d => d.Name, StringComparer.Ordinal)];
            LoadedIndexObjects = [.. LoadedIndexObjects.Except(damaged.Select(d => d.Name), StringComparer.Ordinal)];
        }
    }

    /// <summary>The names of the index objects in the store (not the <see cref="Trash"/> object, which shares their folder).</summary>
    public async Task<List<string>> ListIndexObjectsAsync(CancellationToken cancellationToken) =>
        [.. (await ListIndexObjectSizesAsync(cancellationToken).ConfigureAwait(false)).Keys];

    private async Task<Dictionary<string, long>> ListIndexObjectSizesAsync(CancellationToken cancellationToken)
    {
        var objects = new Dictionary<string, long>(StringComparer.Ordinal);
        await foreach (var item in _storage.ListAsync(StorageObjectClass.Index, cancellationToken).ConfigureAwait(false))
        {
            if (item.Name != Trash.ObjectName)
            {
                objects[item.Name] = item.Size;
            }
        }

        return objects;
    }

    // Reads index objects in parallel, handing their packs to addPack; a damaged or vanished one goes to damaged.
    private Task ReadIndexObjectsAsync(IEnumerable<string> names, Action<string, IReadOnlyList<PackEntry>> addPack, System.Collections.Concurrent.ConcurrentBag<DamagedObject> damaged, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = cancellationToken }, async (name, ct) =>
        {
            try
            {
                var bytes = await ReadObjectAsync(StorageObjectClass.Index, name, ct).ConfigureAwait(false);
                StoreIndex.Decode(Keys, bytes, name, addPack);
            }
            catch (StoreFormatException e)
            {
                damaged.Add(new DamagedObject(StorageObjectClass.Index, name, e.Message));
            }
            catch (NotFoundException)
            {
                // Replaced by a maintenance run between the listing and the read: its packs are in the new object,
                // which the headers below stand in for.
                damaged.Add(new DamagedObject(StorageObjectClass.Index, name, $"index {name} vanished while it was read"));
            }
        });

    /// <summary>The file name of the index cache in its store's directory.</summary>
    internal const string IndexCacheFileName = "index";

    // The store's own cache directory: one per store id (an id that is not a plain token has none).
    private string? IndexCacheDirectory() =>
        IndexCacheRoot is { } root && Config.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? Path.Combine(root, Config.Id) : null;

    /// <summary>
    /// The index cache for the index objects <paramref name="listed"/>. A file listing a subset of them is used
    /// as it is when the rest are small (<see cref="IndexCacheExtensionBytes"/>: they stay in RAM beside it),
    /// else extended by a new file holding it and the rest, of which only the rest are read. A file naming an
    /// object no longer listed (maintenance replaced it) is rebuilt from every listed object. Damaged objects go
    /// to <paramref name="damaged"/>. Null when the cache directory cannot be written: then the whole index is
    /// read into RAM as without a cache.
    /// </summary>
    private async Task<IndexCache?> OpenIndexCacheAsync(string directory, Dictionary<string, long> listed, System.Collections.Concurrent.ConcurrentBag<DamagedObject> damaged, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, IndexCacheFileName);
        var existing = IndexCache.TryOpen(path);
        if (existing is not null && !existing.IndexObjects.All(listed.ContainsKey))
        {
            existing.Dispose();
            existing = null;
        }

        var added = listed.Keys.Where(n => existing?.IndexObjects.Contains(n) != true).ToList();
        if (existing is not null && added.Sum(n => listed[n]) <= IndexCacheExtensionBytes)
        {
            return existing;
        }

        try
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using var builder = new IndexCacheBuilder(directory);
            if (existing is not null)
            {
                builder.AddCache(existing);
            }

            await ReadIndexObjectsAsync(added, builder.AddPack, damaged, cancellationToken).ConfigureAwait(false);
            var objects = added.Where(n => !damaged.Any(d => d.Name == n)).ToList();
            objects.AddRange(existing?.IndexObjects ?? Enumerable.Empty<string>());
            return builder.Finish(path, objects);
        }
        // A missing or unloadable assembly is a FileNotFoundException/FileLoadException too: that is a broken
        // install to report, not a cache directory to do without.
        catch (Exception e) when (e is (IOException and not FileNotFoundException and not FileLoadException) or UnauthorizedAccessException)
        {
            damaged.Clear();
            return null;
        }
        finally
        {
            // The new file replaced the old one by rename; the old one is read until then through this handle.
            existing?.Dispose();
        }
    }

    /// <summary>Every pack in the store with its size in bytes.</summary>
    public async Task<Dictionary<string, long>> ListPacksAsync(CancellationToken cancellationToken)
    {
        var packs = new Dictionary<string, long>(StringComparer.Ordinal);
        await foreach (var item in _storage.ListAsync(StorageObjectClass.Packfile, cancellationToken).ConfigureAwait(false))
        {
            packs[item.Name] = item.Size;
        }

        return packs;
    }

    /// <summary>The CONFIG object's bytes as stored.</summary>
    public Task<byte[]> ReadConfigBytesAsync(CancellationToken cancellationToken) => _storage.OpenAsync(cancellationToken);

    /// <summary>Opens a whole pack for reading.</summary>
    public Task<Stream> OpenPackAsync(string pack, CancellationToken cancellationToken) =>
        _storage.GetAsync(StorageObjectClass.Packfile, pack, 0, null, cancellationToken);

    public async Task<byte[]> ReadObjectAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken)
    {
        var stream = await _storage.GetAsync(objectClass, name, 0, null, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
            return copy.ToArray();
        }
    }

    /// <summary>Reads a byte range of an object into a new array.</summary>
    public async Task<byte[]> ReadObjectRangeAsync(StorageObjectClass objectClass, string name, long offset, int length, CancellationToken cancellationToken)
    {
        var buffer = new byte[length];
        var stream = await _storage.GetAsync(objectClass, name, offset, length, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var read = await stream.ReadAtLeastAsync(buffer, length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            return read == length ? buffer : throw new StoreFormatException($"{name} is shorter than its listing says");
        }
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes at <paramref name="offset"/> of a pack into a pooled buffer.</summary>
    public async Task<byte[]> ReadPackRangeAsync(string pack, long offset, int length, CancellationToken cancellationToken)
    {
        var buffer = BlobBuffers.Pool.Rent(Math.Max(1, length));
        try
        {
            var stream = await _storage.GetAsync(StorageObjectClass.Packfile, pack, offset, length, cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var read = await stream.ReadAtLeastAsync(buffer.AsMemory(0, length), length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read != length)
                {
                    throw new StoreFormatException($"pack {pack} is shorter than the index says: run 'coffer check'");
                }
            }

            return buffer;
        }
        catch
        {
            BlobBuffers.Pool.Return(buffer);
            throw;
        }
    }

    /// <summary>Reads, authenticates and decodes a blob; the caller returns the buffer to the shared pool.</summary>
    /// <exception cref="MissingBlobException">The index does not know the blob.</exception>
    /// <exception cref="DamagedBlobException">The stored blob is not what was written.</exception>
    public async Task<(byte[] Buffer, int Length)> ReadBlobAsync(BlobId id, CancellationToken cancellationToken)
    {
        if (!Index.TryGet(id, out var location))
        {
            throw new MissingBlobException(id);
        }

        byte[] sealedBuffer;
        try
        {
            sealedBuffer = await ReadPackRangeAsync(location.Pack, location.Offset, (int)location.Length, cancellationToken).ConfigureAwait(false);
        }
        catch (NotFoundException e)
        {
            throw new MissingBlobException(id, $"its pack {location.Pack} is missing", e);
        }

        try
        {
            var plain = BlobBuffers.Pool.Rent(Math.Max(1, (int)location.RawLength));
            try
            {
                Codec.Decode(location.Type, id, sealedBuffer.AsSpan(0, (int)location.Length), (int)location.RawLength, plain);
                return (plain, (int)location.RawLength);
            }
            catch
            {
                BlobBuffers.Pool.Return(plain);
                throw;
            }
        }
        finally
        {
            BlobBuffers.Pool.Return(sealedBuffer);
        }
    }

    public async Task<TreeNode> ReadTreeAsync(BlobId id, CancellationToken cancellationToken)
    {
        var (buffer, length) = await ReadBlobAsync(id, cancellationToken).ConfigureAwait(false);
        try
        {
            return ParseTree(id, buffer.AsSpan(0, length));
        }
        finally
        {
            BlobBuffers.Pool.Return(buffer);
        }
    }

    /// <summary>A decoded tree blob as a tree, refused when it is malformed or names an entry unsafely.</summary>
    /// <exception cref="StoreFormatException">The tree is malformed or was tampered with.</exception>
    public static TreeNode ParseTree(BlobId id, ReadOnlySpan<byte> plain)
    {
        try
        {
            var tree = TreeNode.Parse(plain);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in tree.Entries)
            {
                // A name that is a path (or a second entry of one name, say a link then a directory) could
                // make a restore write outside its target: such a tree is refused, never walked.
                if (!Node.IsSafeName(entry.Name) || !names.Add(entry.Name))
                {
                    throw new StoreFormatException($"tree {id} has an entry named {Node.Quote(entry.Name)}, which is not a plain name or is there twice: the store is damaged or was tampered with");
                }
            }

            return tree;
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new StoreFormatException($"tree {id} is malformed", e);
        }
    }

    /// <summary>
    /// The readable snapshots, oldest first. A damaged snapshot object does not stop the command: it is left
    /// out and reported once through <see cref="Warn"/> (<see cref="ListAllSnapshotsAsync"/> returns it too).
    /// </summary>
    public async Task<IReadOnlyList<Snapshot>> ListSnapshotsAsync(CancellationToken cancellationToken)
    {
        var listing = await ListAllSnapshotsAsync(cancellationToken).ConfigureAwait(false);
        WarnOfDamaged(listing);
        return listing.Snapshots;
    }

    private void WarnOfDamaged(SnapshotListing listing)
    {
        foreach (var d in listing.Damaged)
        {
            WarnOnce($"{d.Reason}: it is left out; remove it with 'coffer repair snapshots' (or 'coffer rm {d.ShortName}')");
        }
    }

    /// <summary>The readable snapshots, oldest first, and the snapshot objects that cannot be read, by name (for the caller to report: no warning).</summary>
    public async Task<SnapshotListing> ListAllSnapshotsAsync(CancellationToken cancellationToken)
    {
        var names = new List<string>();
        await foreach (var item in _storage.ListAsync(StorageObjectClass.Snapshot, cancellationToken).ConfigureAwait(false))
        {
            names.Add(item.Name);
        }

        var snapshots = new Snapshot?[names.Count];
        var damaged = new DamagedObject?[names.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, names.Count), new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            try
            {
                snapshots[i] = await ReadSnapshotAsync(names[i], ct).ConfigureAwait(false);
            }
            catch (StoreFormatException e)
            {
                damaged[i] = new DamagedObject(StorageObjectClass.Snapshot, names[i], e.Message);
            }
            catch (NotFoundException)
            {
                // Removed (rm) between the listing and the read: it is simply not there any more.
            }
        }).ConfigureAwait(false);

        // A backup that finished after the index was loaded wrote its index objects before its snapshot: read
        // them now, or its snapshot would name blobs this command cannot find.
        if (_indexLoaded)
        {
            await LoadNewIndexObjectsAsync(cancellationToken).ConfigureAwait(false);
        }

        return new SnapshotListing(snapshots.OfType<Snapshot>().OrderBy(s => s.Time).ThenBy(s => s.Id, StringComparer.Ordinal).ToList(), damaged.OfType<DamagedObject>().OrderBy(d => d.Name, StringComparer.Ordinal).ToList());
    }

    private bool _indexLoaded;

    /// <summary>Adds the index objects written since <see cref="LoadIndexAsync"/> to <see cref="Index"/> (a damaged or vanished one is left for the next load to report).</summary>
    private async Task LoadNewIndexObjectsAsync(CancellationToken cancellationToken)
    {
        var known = LoadedIndexObjects.Concat(DamagedIndexObjects.Select(d => d.Name)).ToHashSet(StringComparer.Ordinal);
        var added = new List<string>();
        foreach (var name in await ListIndexObjectsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (known.Contains(name))
            {
                continue;
            }

            try
            {
                Index.Load(Keys, await ReadObjectAsync(StorageObjectClass.Index, name, cancellationToken).ConfigureAwait(false), name);
                added.Add(name);
            }
            catch (Exception e) when (e is StoreFormatException or NotFoundException)
            {
                // Written by a command that is still running, or replaced by maintenance: nothing listed here needs it.
            }
        }

        if (added.Count > 0)
        {
            LoadedIndexObjects = [.. LoadedIndexObjects, .. added];
        }
    }

    private async Task<Snapshot> ReadSnapshotAsync(string name, CancellationToken cancellationToken)
    {
        var bytes = await ReadObjectAsync(StorageObjectClass.Snapshot, name, cancellationToken).ConfigureAwait(false);
        try
        {
            var snapshot = Snapshot.Parse(Keys.OpenObject(bytes, SnapshotContext(name)));
            return snapshot.Id == name ? snapshot : throw new StoreFormatException($"snapshot object {name} holds snapshot {snapshot.Id}");
        }
        catch (Exception e) when (e is AuthenticationTagMismatchException or System.Text.Json.JsonException)
        {
            throw new StoreFormatException($"snapshot {name} is damaged", e);
        }
    }

    /// <summary>Finds a snapshot by <c>latest</c> (the newest readable one), its full id or a unique id prefix.</summary>
    /// <exception cref="SnapshotNotFoundException">The reference matches no snapshot, several, or a damaged one.</exception>
    public async Task<Snapshot> FindSnapshotAsync(string reference, CancellationToken cancellationToken) =>
        (await FindSnapshotsAsync([reference], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>Finds the snapshots <paramref name="references"/> name (as <see cref="FindSnapshotAsync"/>), each once, in the order first named.</summary>
    /// <exception cref="SnapshotNotFoundException">A reference matches no snapshot, several, or a damaged one.</exception>
    public async Task<List<Snapshot>> FindSnapshotsAsync(IEnumerable<string> references, CancellationToken cancellationToken)
    {
        var listing = await ListAllSnapshotsAsync(cancellationToken).ConfigureAwait(false);
        var found = references.Select(reference => FindSnapshot(listing, reference, damagedIsFound: false).Snapshot!).Distinct().ToList();

        // A snapshot named by id does not depend on a damaged one; 'latest' might have been the damaged one.
        if (references.Contains("latest", StringComparer.Ordinal))
        {
            WarnOfDamaged(listing);
        }

        return found;
    }

    /// <summary>
    /// Finds the snapshots <paramref name="references"/> name, readable or not (rm removes a damaged one by its
    /// id): each is either a snapshot or a damaged snapshot object, each once.
    /// </summary>
    /// <exception cref="SnapshotNotFoundException">A reference matches no snapshot object, or several.</exception>
    public async Task<(List<Snapshot> Snapshots, List<DamagedObject> Damaged)> FindSnapshotObjectsAsync(IEnumerable<string> references, CancellationToken cancellationToken)
    {
        var listing = await ListAllSnapshotsAsync(cancellationToken).ConfigureAwait(false);
        var found = references.Select(reference => FindSnapshot(listing, reference, damagedIsFound: true)).ToList();
        return (found.Select(f => f.Snapshot).OfType<Snapshot>().Distinct().ToList(), found.Select(f => f.Damaged).OfType<DamagedObject>().Distinct().ToList());
    }

    private static (Snapshot? Snapshot, DamagedObject? Damaged) FindSnapshot(SnapshotListing listing, string reference, bool damagedIsFound)
    {
        var snapshots = listing.Snapshots;
        if (reference == "latest")
        {
            return snapshots.Count > 0 ? (snapshots[^1], null) : throw new SnapshotNotFoundException("the store has no snapshot yet: run 'coffer backup' first");
        }

        var matches = snapshots.Where(s => s.Id.StartsWith(reference, StringComparison.OrdinalIgnoreCase)).ToList();
        var damaged = listing.Damaged.Where(d => d.Name.StartsWith(reference, StringComparison.OrdinalIgnoreCase)).ToList();
        return (matches.Count + damaged.Count, damaged.Count) switch
        {
            (1, 0) => (matches[0], null),
            (1, 1) when damagedIsFound => (null, damaged[0]),
            (1, 1) => throw new SnapshotNotFoundException($"{damaged[0].Reason}: it cannot be used; remove it with 'coffer repair snapshots' or 'coffer rm {reference}'"),
            (0, _) => throw new SnapshotNotFoundException($"no snapshot '{reference}' in this store: see 'coffer ls'"),
            _ => throw new SnapshotNotFoundException($"snapshot prefix '{reference}' matches {matches.Count + damaged.Count} snapshots: give more digits"),
        };
    }

    public Task WriteSnapshotAsync(Snapshot snapshot, CancellationToken cancellationToken)
    {
        var bytes = Keys.SealObject(snapshot.ToJson(), SnapshotContext(snapshot.Id));
        return _storage.PutAsync(StorageObjectClass.Snapshot, snapshot.Id, new MemoryStream(bytes, writable: false), cancellationToken);
    }

    /// <summary>Deletes a snapshot object; the data only it used stays until maintenance frees it.</summary>
    public Task DeleteSnapshotAsync(string id, CancellationToken cancellationToken) =>
        _storage.DeleteAsync(StorageObjectClass.Snapshot, id, cancellationToken);

    /// <summary>
    /// Blobs one index object lists at most, and one pack holds at most (a pack written before that bound and
    /// holding more is alone in its object). Index objects are read whole, <see cref="ParallelReads"/> at a time,
    /// so this bounds the RAM that loading or rebuilding the index takes whatever the store's size
    /// (docs/store-format.md, "Index objects").
    /// </summary>
    internal const int MaxIndexObjectBlobs = 1 << 15;

    /// <summary>
    /// Writes index objects listing <paramref name="packs"/>, in order, at most <see cref="MaxIndexObjectBlobs"/>
    /// blobs each; returns their names (none when there is nothing to list).
    /// </summary>
    public async Task<IReadOnlyList<string>> WriteIndexAsync(IReadOnlyList<(string Pack, IReadOnlyList<PackEntry> Entries)> packs, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        var group = new List<(string Pack, IReadOnlyList<PackEntry> Entries)>();
        var blobs = 0;
        foreach (var pack in packs)
        {
            if (group.Count > 0 && blobs + pack.Entries.Count > MaxIndexObjectBlobs)
            {
                names.Add(await WriteIndexObjectAsync(group, cancellationToken).ConfigureAwait(false));
                group = [];
                blobs = 0;
            }

            group.Add(pack);
            blobs += pack.Entries.Count;
        }

        if (group.Count > 0)
        {
            names.Add(await WriteIndexObjectAsync(group, cancellationToken).ConfigureAwait(false));
        }

        return names;
    }

    private async Task<string> WriteIndexObjectAsync(IReadOnlyList<(string Pack, IReadOnlyList<PackEntry> Entries)> packs, CancellationToken cancellationToken)
    {
        var bytes = StoreIndex.Encode(Keys, packs);
        var name = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await _storage.PutAsync(StorageObjectClass.Index, name, new MemoryStream(bytes, writable: false), cancellationToken).ConfigureAwait(false);
        return name;
    }

    /// <summary>Deletes an index object (maintenance, once a rewritten index replaces it).</summary>
    public Task DeleteIndexObjectAsync(string name, CancellationToken cancellationToken) =>
        _storage.DeleteAsync(StorageObjectClass.Index, name, cancellationToken);

    /// <summary>Deletes a pack (maintenance, once no index names it).</summary>
    public Task DeletePackAsync(string pack, CancellationToken cancellationToken) =>
        _storage.DeleteAsync(StorageObjectClass.Packfile, pack, cancellationToken);

    /// <summary>Writes an object as it is; for the repository's own objects (packs, locks, the trash list).</summary>
    internal Task PutObjectAsync(StorageObjectClass objectClass, string name, Stream content, CancellationToken cancellationToken) =>
        _storage.PutAsync(objectClass, name, content, cancellationToken);

    /// <summary>Deletes an object; for the repository's own objects (locks, the trash list).</summary>
    internal Task DeleteObjectAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken) =>
        _storage.DeleteAsync(objectClass, name, cancellationToken);

    /// <summary>Lists the objects of a class; for the repository's own objects (locks, packs).</summary>
    internal IAsyncEnumerable<StorageObject> ListObjectsAsync(StorageObjectClass objectClass, CancellationToken cancellationToken) =>
        _storage.ListAsync(objectClass, cancellationToken);

    /// <summary>How many trees a walk's cache holds at most: a bound on memory for stores with very many directories.</summary>
    internal const int MaxCachedTrees = 1 << 16;

    /// <summary>Walks a tree depth first, directories before their content; paths are relative to <paramref name="root"/>.</summary>
    public IAsyncEnumerable<(string Path, Node Node)> WalkAsync(Node root, string rootPath, CancellationToken cancellationToken) =>
        WalkAsync(root, rootPath, trees: null, cancellationToken);

    /// <summary>
    /// Walks a tree as <see cref="WalkAsync(Node, string, CancellationToken)"/> does, taking trees from
    /// <paramref name="trees"/> and adding those it reads (up to <see cref="MaxCachedTrees"/>): walks of
    /// several snapshots that share one cache read each directory their snapshots share once.
    /// </summary>
    public IAsyncEnumerable<(string Path, Node Node)> WalkAsync(Node root, string rootPath, Dictionary<string, TreeNode>? trees, CancellationToken cancellationToken) =>
        WalkAsync(root, rootPath, trees, damaged: null, cancellationToken);

    /// <summary>
    /// Walks a tree as <see cref="WalkAsync(Node, string, Dictionary{string, TreeNode}?, CancellationToken)"/> does;
    /// with <paramref name="damaged"/>, a directory whose tree cannot be read is added there (its path and why)
    /// and its content skipped, instead of ending the walk: damage stays local to that directory.
    /// </summary>
    public async IAsyncEnumerable<(string Path, Node Node)> WalkAsync(Node root, string rootPath, Dictionary<string, TreeNode>? trees, List<(string Path, string Reason)>? damaged, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The entries still to visit, the next one last; trees read with a batch, until their directory is visited.
        var pending = new List<(string Path, Node Node)> { (rootPath, root) };
        var readAhead = new Dictionary<string, TreeNode?>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            var (path, node) = pending[^1];
            pending.RemoveAt(pending.Count - 1);
            yield return (path, node);
            if (node.Subtree is { } subtree)
            {
                if (trees is null || !trees.TryGetValue(subtree, out var tree))
                {
                    if (!readAhead.Remove(subtree, out tree))
                    {
                        await ReadAheadAsync(subtree, pending, readAhead, cancellationToken).ConfigureAwait(false);
                        readAhead.Remove(subtree, out tree);
                    }

                    if (tree is null)
                    {
                        // Not in the batch (missing or damaged): read alone, so the failure is this tree's own.
                        try
                        {
                            tree = await ReadTreeAsync(BlobId.Parse(subtree), cancellationToken).ConfigureAwait(false);
                        }
                        catch (StoreException e) when (damaged is not null)
                        {
                            damaged.Add((path, e.Message));
                            continue;
                        }
                    }

                    if (trees is not null && trees.Count < MaxCachedTrees)
                    {
                        trees[subtree] = tree;
                    }
                }

                for (var i = tree.Entries.Count - 1; i >= 0; i--)
                {
                    var child = tree.Entries[i];
                    pending.Add((path.Length == 0 ? child.Name : $"{path}/{child.Name}", child));
                }
            }
        }
    }

    /// <summary>How many trees a walk reads with one batch: the directory it enters and the next ones it will enter.</summary>
    internal const int WalkReadAhead = 64;

    /// <summary>
    /// Reads <paramref name="subtree"/> with the trees of the next directories the walk will enter (the top of
    /// <paramref name="pending"/>), as one batch: a tree pack is read once for them, not once per directory.
    /// </summary>
    private async Task ReadAheadAsync(string subtree, List<(string Path, Node Node)> pending, Dictionary<string, TreeNode?> readAhead, CancellationToken cancellationToken)
    {
        var ids = new List<string> { subtree };
        for (var i = pending.Count - 1; i >= Math.Max(0, pending.Count - (4 * WalkReadAhead)) && ids.Count < WalkReadAhead; i--)
        {
            if (pending[i].Node.Subtree is { } next && !readAhead.ContainsKey(next) && !ids.Contains(next, StringComparer.Ordinal))
            {
                ids.Add(next);
            }
        }

        var read = await ReadTreesAsync(ids, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < ids.Count; i++)
        {
            readAhead[ids[i]] = read[i];
        }
    }

    /// <summary>
    /// Reads trees pack by pack with one <see cref="BlobBatch"/> (a backup writes a snapshot's trees into few
    /// packs, so many directories cost a few ranged reads, not one each); when the batch fails, one by one, so a
    /// damaged tree costs only itself. A tree that cannot be read is null.
    /// </summary>
    public async Task<TreeNode?[]> ReadTreesAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var read = new TreeNode?[ids.Count];
        try
        {
            using var batch = await BlobBatch.ReadAsync(this, ids.Select(BlobId.Parse), cancellationToken).ConfigureAwait(false);

            // Parsing the JSON is most of the time once the blobs are read: on every core.
            Parallel.For(0, ids.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
            {
                var id = BlobId.Parse(ids[i]);
                try
                {
                    read[i] = ParseTree(id, batch[id]);
                }
                catch (StoreFormatException)
                {
                    read[i] = null;
                }
            });

            return read;
        }
        catch (Exception e) when (e is StoreException or FormatException)
        {
            // Some tree of the batch is missing or damaged: which one is for the reads below to find out.
        }

        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            try
            {
                read[i] = await ReadTreeAsync(BlobId.Parse(ids[i]), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is StoreException or FormatException)
            {
                read[i] = null;
            }
        }).ConfigureAwait(false);
        return read;
    }

    /// <summary>Finds the node at <paramref name="path"/> below a snapshot's root.</summary>
    public async Task<Node> ResolveAsync(Snapshot snapshot, string path, CancellationToken cancellationToken)
    {
        var node = snapshot.Root;
        foreach (var segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (node.Subtree is null)
            {
                throw new SnapshotNotFoundException($"no '{path}' in snapshot {snapshot.ShortId}: '{node.Name}' is not a directory");
            }

            var tree = await ReadTreeAsync(BlobId.Parse(node.Subtree), cancellationToken).ConfigureAwait(false);
            node = tree.Entries.FirstOrDefault(e => e.Name == segment)
                ?? throw new SnapshotNotFoundException($"no '{path}' in snapshot {snapshot.ShortId}: see 'coffer ls {snapshot.ShortId}'");
        }

        return node;
    }

    private static string SnapshotContext(string id) => $"coffer snapshot v1 {id}";
}

/// <summary>A store object that cannot be read.</summary>
/// <param name="Class">What kind of object it is.</param>
/// <param name="Name">Its name (a snapshot's id, an index object's name).</param>
/// <param name="Reason">What is wrong, as a line for the user (it names the object).</param>
internal sealed record DamagedObject(StorageObjectClass Class, string Name, string Reason)
{
    /// <summary>The name as a snapshot's short id is shown (its first 8 characters).</summary>
    public string ShortName => Name[..Math.Min(8, Name.Length)];
}

/// <summary>The snapshots of a store: those that can be read, oldest first, and the damaged snapshot objects.</summary>
/// <param name="Snapshots">The readable snapshots.</param>
/// <param name="Damaged">The snapshot objects that cannot be read.</param>
internal sealed record SnapshotListing(IReadOnlyList<Snapshot> Snapshots, IReadOnlyList<DamagedObject> Damaged);

/// <summary>A blob a tree refers to is not in the store.</summary>
internal sealed class MissingBlobException : StoreException
{
    public MissingBlobException(BlobId id) : base($"blob {id} is missing from the store") => Id = id;

    public MissingBlobException(BlobId id, string why, Exception innerException) : base($"blob {id} is unreadable: {why}", innerException) => Id = id;

    public BlobId Id { get; }
}
