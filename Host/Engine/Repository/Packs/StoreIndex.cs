using System.Buffers.Binary;
using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Coffer.Engine.Core;
using Coffer.Engine.Repository.Crypto;

namespace Coffer.Engine.Repository.Packs;

/// <summary>
/// Every blob the store holds and where: the union of all index objects, plus what this process has
/// uploaded since it opened the store. Safe for concurrent readers and writers. Two layers: an optional
/// <see cref="IndexCache"/> file (the index objects as they were when it was built, read from disk, a few
/// bytes of RAM per thousand blobs) and, in RAM, everything indexed since: compact fixed-size records in
/// chunked arrays, pack names interned to numbers, a sorted lookup searched by binary search plus a small
/// overlay of recent additions (<see cref="BytesPerBlob"/> bytes a blob; docs/store-format.md).
/// </summary>
internal sealed class StoreIndex
{
    private const string Context = "coffer index v1";
    private static ReadOnlySpan<byte> Magic => "CIX1"u8;

    private const int ChunkBits = 14;
    private const int ChunkSize = 1 << ChunkBits;
    private const int TypeBit = IndexRecord.TypeBit;

    private readonly Lock _gate = new();

    // Every entry of every indexed pack, appended in the order the packs arrived, a pack's entries contiguous.
    // Fixed-size chunks: growing never copies what is there, and no chunk is large enough to fragment the heap.
    private readonly List<IndexRecord[]> _records = [];
    private int _recordCount;

    // Pack names interned to a pack number, which is what a record holds.
    private readonly Dictionary<string, int> _packNumbers = new(StringComparer.Ordinal);
    private readonly List<PackInfo> _packs = [];

    // The lookup: record numbers of the winning copy of each blob, sorted by blob id, plus a small overlay
    // of what arrived since the last merge. The overlay is merged in once it reaches an eighth of the sorted
    // part, so adding n blobs costs O(n log n) in all and the overlay stays small.
    private int[] _sorted = [];
    private readonly Dictionary<BlobId, int> _overlay = [];

    private IReadOnlySet<string> _trashed = new HashSet<string>(StringComparer.Ordinal);

    // The index as it was on disk when the cache file was built: everything in RAM came after it.
    private IndexCache? _cache;
    private Predicate<int>? _cachedPackTrashed;

    /// <summary>Bytes of RAM each indexed blob costs once merged: its record and its place in the sorted lookup.</summary>
    public static int BytesPerBlob => Unsafe.SizeOf<IndexRecord>() + sizeof(int);

    /// <summary>Distinct blobs indexed.</summary>
    public long Count
    {
        get
        {
            int[] winners;
            lock (_gate)
            {
                if (_cache is null)
                {
                    return _sorted.Length + _overlay.Count;
                }

                winners = [.. _sorted, .. _overlay.Values];
            }

            return _cache.DistinctCount + winners.Count(n => !CacheHas(RecordAt(n).Id));
        }
    }

    /// <summary>The cache file under the index, when the store was loaded through one.</summary>
    public IndexCache? Cache => _cache;

    /// <summary>
    /// Puts <paramref name="cache"/> under the index: what it lists is found there, and what is added here
    /// afterwards (packs it does not list) stays in RAM. Called on an empty index, when the store is loaded.
    /// </summary>
    public void UseCache(IndexCache cache)
    {
        lock (_gate)
        {
            if (_recordCount > 0)
            {
                throw new InvalidOperationException("an index cache goes under an empty index");
            }

            _cache = cache;
            _cachedPackTrashed = number => _trashed.Contains(cache.PackName(number));
        }
    }

    /// <summary>
    /// Packs maintenance marked for deletion: a blob there is never deduplicated against (a backup stores
    /// it again), and a copy of it in another pack is preferred.
    /// </summary>
    public IReadOnlySet<string> Trashed
    {
        get => _trashed;
        set
        {
            lock (_gate)
            {
                _trashed = value;

                // Choose again, in arrival order, which copy of each blob wins.
                _sorted = [];
                _overlay.Clear();
                for (var i = 0; i < _recordCount; i++)
                {
                    Choose(i);
                }

                Merge();
            }
        }
    }

    /// <summary>Every indexed pack with the blobs the index lists in it (read from the records on each access).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<PackEntry>> PackEntries => new PackEntryView(this);

    /// <summary>The names of the indexed packs, as they were when asked.</summary>
    public ICollection<string> Packs
    {
        get
        {
            lock (_gate)
            {
                return [.. _cache?.PackNames ?? [], .. _packs.Select(p => p.Name)];
            }
        }
    }

    /// <summary>The copy of each blob that reads use, as the index was when asked.</summary>
    public IEnumerable<KeyValuePair<BlobId, BlobLocation>> Blobs
    {
        get
        {
            int[] winners;
            IndexCache? cache;
            lock (_gate)
            {
                winners = [.. _sorted, .. _overlay.Values];
                cache = _cache;
            }

            if (cache is not null)
            {
                // The file's copies of one blob are adjacent, in the order they were indexed: each id once, its
                // winner chosen as a lookup would (RAM asked only when the file's copy is in a trashed pack).
                IndexRecord winner = default;
                var have = false;
                foreach (var record in cache.Sorted())
                {
                    if (have && record.Id != winner.Id)
                    {
                        yield return CachedWinner(cache, winner);
                        have = false;
                    }

                    if (!have || (_cachedPackTrashed!(winner.PackNumber) && !_cachedPackTrashed!(record.PackNumber)))
                    {
                        winner = record;
                        have = true;
                    }
                }

                if (have)
                {
                    yield return CachedWinner(cache, winner);
                }
            }

            foreach (var number in winners)
            {
                var record = RecordAt(number);
                if (cache is null || !CacheHas(record.Id))
                {
                    yield return new(record.Id, LocationAt(number));
                }
            }
        }
    }

    /// <summary>Whether a backup may reuse the blob: it is stored in a pack not marked for deletion.</summary>
    public bool Contains(BlobId id) => TryGet(id, out var location) && !_trashed.Contains(location.Pack);

    public bool TryGet(BlobId id, out BlobLocation location)
    {
        // The file's copy came first; a copy added since wins only over one in a pack marked for deletion.
        var cache = _cache;
        IndexRecord cached = default;
        var fromCache = cache is not null && cache.TryFind(id, _cachedPackTrashed!, out cached);
        if (fromCache && !_cachedPackTrashed!(cached.PackNumber))
        {
            location = cache!.Location(cached);
            return true;
        }

        lock (_gate)
        {
            var number = Find(id);
            if (number >= 0 && (!fromCache || !_trashed.Contains(PackName(number))))
            {
                location = Location(At(number));
                return true;
            }
        }

        location = fromCache ? cache!.Location(cached) : default;
        return fromCache;
    }

    private KeyValuePair<BlobId, BlobLocation> CachedWinner(IndexCache cache, in IndexRecord winner)
    {
        var location = cache.Location(winner);
        if (_cachedPackTrashed!(winner.PackNumber))
        {
            TryGet(winner.Id, out location);
        }

        return new(winner.Id, location);
    }

    private bool CacheHas(BlobId id) => _cache!.TryFind(id, _cachedPackTrashed!, out _);

    private IndexRecord RecordAt(int number)
    {
        lock (_gate)
        {
            return At(number);
        }
    }

    private BlobLocation LocationAt(int number)
    {
        lock (_gate)
        {
            return Location(At(number));
        }
    }

    /// <summary>Why a blob cannot be read without reading it (not indexed, its pack missing or too short), or null.</summary>
    /// <param name="id">The blob.</param>
    /// <param name="packs">Every pack in the store with its size.</param>
    public string? Problem(BlobId id, IReadOnlyDictionary<string, long> packs) =>
        !TryGet(id, out var location) ? $"blob {id} is missing from the index"
        : !packs.TryGetValue(location.Pack, out var size) ? $"pack {location.Pack} is missing"
        : location.Offset + (long)location.Length > size ? $"pack {location.Pack} is too short"
        : null;

    /// <summary>Adds a pack and its entries; a pack already indexed keeps the entries it was first listed with.</summary>
    public void AddPack(string pack, IReadOnlyList<PackEntry> entries)
    {
        lock (_gate)
        {
            if (_packNumbers.ContainsKey(pack) || (_cache?.TryGetPackNumber(pack, out _) ?? false))
            {
                return;
            }

            var number = _packs.Count;
            if (number >= TypeBit)
            {
                throw new StoreException($"the index holds more than {TypeBit} packs");
            }

            _packNumbers.Add(pack, number);
            var first = _recordCount;
            _packs.Add(new PackInfo(pack, first, 0));
            foreach (var e in entries)
            {
                var at = _recordCount++;
                if ((at & (ChunkSize - 1)) == 0)
                {
                    _records.Add(new IndexRecord[ChunkSize]);
                }

                At(at) = IndexRecord.From(e, number);
                Choose(at);
            }

            _packs[number] = new PackInfo(pack, first, entries.Count);
            if (_overlay.Count >= Math.Max(1024, _sorted.Length / 8))
            {
                Merge();
            }
        }
    }

    /// <summary>Merges the overlay into the sorted lookup: called once the store's index objects are loaded.</summary>
    public void Compact()
    {
        lock (_gate)
        {
            Merge();
        }
    }

    // The first copy wins, unless it sits in a pack marked for deletion; a duplicate in another pack (two
    // concurrent backups, a repack) is harmless and stays listed under its pack.
    private void Choose(int number)
    {
        ref readonly var record = ref At(number);
        var position = SortedPosition(record.Id);
        if (position >= 0)
        {
            if (Replaces(number, _sorted[position]))
            {
                _sorted[position] = number;
            }
        }
        else if (_overlay.TryGetValue(record.Id, out var existing))
        {
            if (Replaces(number, existing))
            {
                _overlay[record.Id] = number;
            }
        }
        else
        {
            _overlay.Add(record.Id, number);
        }
    }

    private bool Replaces(int candidate, int existing) =>
        _trashed.Contains(PackName(existing)) && !_trashed.Contains(PackName(candidate));

    private string PackName(int number) => _packs[At(number).PackNumber].Name;

    private void Merge()
    {
        if (_overlay.Count == 0)
        {
            return;
        }

        var added = _overlay.Values.ToArray();
        Array.Sort(added, (x, y) => At(x).Id.CompareTo(At(y).Id));
        var merged = new int[_sorted.Length + added.Length];
        int i = 0, j = 0, k = 0;
        while (i < _sorted.Length && j < added.Length)
        {
            merged[k++] = At(_sorted[i]).Id.CompareTo(At(added[j]).Id) <= 0 ? _sorted[i++] : added[j++];
        }

        _sorted.AsSpan(i).CopyTo(merged.AsSpan(k));
        added.AsSpan(j).CopyTo(merged.AsSpan(k + _sorted.Length - i));
        _sorted = merged;
        _overlay.Clear();
        _overlay.TrimExcess();
    }

    private int Find(BlobId id)
    {
        var position = SortedPosition(id);
        return position >= 0 ? _sorted[position] : _overlay.TryGetValue(id, out var number) ? number : -1;
    }

    private int SortedPosition(BlobId id)
    {
        int low = 0, high = _sorted.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            var order = At(_sorted[middle]).Id.CompareTo(id);
            if (order == 0)
            {
                return middle;
            }

            if (order < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return -1;
    }

    private ref IndexRecord At(int number) => ref _records[number >> ChunkBits][number & (ChunkSize - 1)];

    private BlobLocation Location(in IndexRecord record) =>
        new(record.Type, _packs[record.PackNumber].Name, record.Offset, record.Length, record.RawLength);

    /// <summary>Encodes one index object listing <paramref name="packs"/>.</summary>
    public static byte[] Encode(StoreKeys keys, IReadOnlyList<(string Pack, IReadOnlyList<PackEntry> Entries)> packs)
    {
        var size = 8 + packs.Sum(p => 32 + 4 + p.Entries.Count * PackEntry.Size);
        var plain = new byte[size];
        var span = plain.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], packs.Count);
        var at = 8;
        foreach (var (pack, entries) in packs)
        {
            Convert.FromHexString(pack, span.Slice(at, 32), out _, out _);
            BinaryPrimitives.WriteInt32LittleEndian(span[(at + 32)..], entries.Count);
            at += 36;
            foreach (var entry in entries)
            {
                entry.WriteTo(span[at..]);
                at += PackEntry.Size;
            }
        }

        return keys.SealObject(plain, Context);
    }

    /// <summary>Adds what an index object lists.</summary>
    public void Load(StoreKeys keys, ReadOnlySpan<byte> sealedIndex, string name) => Decode(keys, sealedIndex, name, AddPack);

    /// <summary>Decodes an index object, handing each pack it lists to <paramref name="addPack"/>.</summary>
    public static void Decode(StoreKeys keys, ReadOnlySpan<byte> sealedIndex, string name, Action<string, IReadOnlyList<PackEntry>> addPack)
    {
        byte[] plain;
        try
        {
            plain = keys.OpenObject(sealedIndex, Context);
        }
        catch (System.Security.Cryptography.AuthenticationTagMismatchException e)
        {
            throw new StoreFormatException($"index {name} fails authentication: run 'coffer check'", e);
        }

        var span = plain.AsSpan();
        if (span.Length < 8 || !span[..4].SequenceEqual(Magic))
        {
            throw new StoreFormatException($"index {name} is not a coffer index");
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
        var at = 8;
        for (var p = 0; p < count; p++)
        {
            if (at + 36 > span.Length)
            {
                throw new StoreFormatException($"index {name} is truncated");
            }

            var pack = Convert.ToHexStringLower(span.Slice(at, 32));
            var entryCount = BinaryPrimitives.ReadInt32LittleEndian(span[(at + 32)..]);
            at += 36;
            if (entryCount < 0 || at + (long)entryCount * PackEntry.Size > span.Length)
            {
                throw new StoreFormatException($"index {name} is truncated");
            }

            var entries = new PackEntry[entryCount];
            for (var i = 0; i < entryCount; i++)
            {
                entries[i] = PackEntry.Read(span[at..]);
                at += PackEntry.Size;
            }

            addPack(pack, entries);
        }
    }

    private readonly record struct PackInfo(string Name, int First, int Count);

    /// <summary>The packs with their entries, each list built from the records when it is asked for.</summary>
    private sealed class PackEntryView(StoreIndex index) : IReadOnlyDictionary<string, IReadOnlyList<PackEntry>>
    {
        public int Count
        {
            get
            {
                lock (index._gate)
                {
                    return index._packs.Count + (index._cache?.PackCount ?? 0);
                }
            }
        }

        public IEnumerable<string> Keys => index.Packs;

        public IEnumerable<IReadOnlyList<PackEntry>> Values => Keys.Select(k => this[k]);

        public IReadOnlyList<PackEntry> this[string key] =>
            TryGetValue(key, out var entries) ? entries : throw new KeyNotFoundException($"pack {key} is not indexed");

        public bool ContainsKey(string key)
        {
            lock (index._gate)
            {
                return index._packNumbers.ContainsKey(key) || (index._cache?.TryGetPackNumber(key, out _) ?? false);
            }
        }

        public bool TryGetValue(string key, [MaybeNullWhen(false)] out IReadOnlyList<PackEntry> value)
        {
            lock (index._gate)
            {
                if (!index._packNumbers.TryGetValue(key, out var number))
                {
                    value = index._cache is { } cache && cache.TryGetPackNumber(key, out var cached) ? cache.PackEntries(cached) : null;
                    return value is not null;
                }

                var pack = index._packs[number];
                var entries = new PackEntry[pack.Count];
                for (var i = 0; i < entries.Length; i++)
                {
                    entries[i] = index.At(pack.First + i).ToEntry();
                }

                value = entries;
                return true;
            }
        }

        public IEnumerator<KeyValuePair<string, IReadOnlyList<PackEntry>>> GetEnumerator() =>
            Keys.Select(k => new KeyValuePair<string, IReadOnlyList<PackEntry>>(k, this[k])).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
