using System.Buffers.Binary;
using System.Collections.Concurrent;
using Coffer.Engine.Core;
using Coffer.Engine.Repository.Crypto;

namespace Coffer.Engine.Repository.Packs;

/// <summary>
/// Every blob the store holds and where: the union of all index objects, plus what this process has
/// uploaded since it opened the store. Safe for concurrent readers and writers.
/// </summary>
internal sealed class StoreIndex
{
    private const string Context = "coffer index v1";
    private static ReadOnlySpan<byte> Magic => "CIX1"u8;

    private readonly ConcurrentDictionary<BlobId, BlobLocation> _blobs = new();
    private readonly ConcurrentDictionary<string, long> _packs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyList<PackEntry>> _packEntries = new(StringComparer.Ordinal);

    private IReadOnlySet<string> _trashed = new HashSet<string>(StringComparer.Ordinal);

    public int Count => _blobs.Count;

    /// <summary>
    /// Packs maintenance marked for deletion: a blob there is never deduplicated against (a backup stores
    /// it again), and a copy of it in another pack is preferred. Set before the index objects are loaded.
    /// </summary>
    public IReadOnlySet<string> Trashed
    {
        get => _trashed;
        set
        {
            _trashed = value;

            // Prefer copies outside the marked packs from now on.
            foreach (var (pack, entries) in _packEntries)
            {
                if (!value.Contains(pack))
                {
                    AddPack(pack, entries);
                }
            }
        }
    }

    /// <summary>Every indexed pack with the blobs the index lists in it.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<PackEntry>> PackEntries => _packEntries;

    public ICollection<string> Packs => _packs.Keys;

    public IEnumerable<KeyValuePair<BlobId, BlobLocation>> Blobs => _blobs;

    /// <summary>Whether a backup may reuse the blob: it is stored in a pack not marked for deletion.</summary>
    public bool Contains(BlobId id) => _blobs.TryGetValue(id, out var location) && !_trashed.Contains(location.Pack);

    public bool TryGet(BlobId id, out BlobLocation location) => _blobs.TryGetValue(id, out location);

    /// <summary>Why a blob cannot be read without reading it (not indexed, its pack missing or too short), or null.</summary>
    /// <param name="id">The blob.</param>
    /// <param name="packs">Every pack in the store with its size.</param>
    public string? Problem(BlobId id, IReadOnlyDictionary<string, long> packs) =>
        !TryGet(id, out var location) ? $"blob {id} is missing from the index"
        : !packs.TryGetValue(location.Pack, out var size) ? $"pack {location.Pack} is missing"
        : location.Offset + (long)location.Length > size ? $"pack {location.Pack} is too short"
        : null;

    public void AddPack(string pack, IReadOnlyList<PackEntry> entries)
    {
        _packEntries.TryAdd(pack, entries);
        long size = 0;
        foreach (var e in entries)
        {
            // The first copy wins, unless it sits in a pack marked for deletion; a duplicate in another
            // pack (two concurrent backups, a repack) is harmless.
            var location = new BlobLocation(e.Type, pack, e.Offset, e.Length, e.RawLength);
            _blobs.AddOrUpdate(e.Id, location, (_, existing) => _trashed.Contains(existing.Pack) && !_trashed.Contains(pack) ? location : existing);
            size += e.Length;
        }

        _packs.TryAdd(pack, size);
    }

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
    public void Load(StoreKeys keys, ReadOnlySpan<byte> sealedIndex, string name)
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

            AddPack(pack, entries);
        }
    }
}
