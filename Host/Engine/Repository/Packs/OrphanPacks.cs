using System.Buffers.Binary;
using Coffer.Abstractions;
using Coffer.Engine.Core;

namespace Coffer.Engine.Repository.Packs;

/// <summary>
/// Packs no index object names: what a backup killed before its next index object (SIGKILL, power loss)
/// uploaded. Their trailing headers say what they hold, so a later backup adopts them instead of sending
/// the same blobs again, and writes an index object for them.
/// </summary>
internal static class OrphanPacks
{
    /// <summary>Reads a pack's header; null when the pack is too short or its header does not authenticate.</summary>
    public static async Task<IReadOnlyList<PackEntry>?> TryReadHeaderAsync(CofferStore store, string pack, long size, CancellationToken cancellationToken)
    {
        if (size < 4)
        {
            return null;
        }

        try
        {
            var tail = await store.ReadObjectRangeAsync(StorageObjectClass.Packfile, pack, size - 4, 4, cancellationToken).ConfigureAwait(false);
            var headerLength = BinaryPrimitives.ReadInt32LittleEndian(tail);
            if (headerLength <= 0 || headerLength > size - 4 || headerLength > 64 << 20)
            {
                return null;
            }

            var header = await store.ReadObjectRangeAsync(StorageObjectClass.Packfile, pack, size - 4 - headerLength, headerLength, cancellationToken).ConfigureAwait(false);
            var entries = PackFormat.DecodeHeader(store.Keys, header);
            var blobsEnd = size - 4 - headerLength;
            return entries.All(e => e.Offset + (long)e.Length <= blobsEnd) ? entries : null;
        }
        catch (Exception e) when (e is StoreFormatException or NotFoundException)
        {
            return null;
        }
    }

    /// <summary>Indexes every complete pack no index names (and maintenance has not marked); returns how many.</summary>
    public static async Task<int> AdoptAsync(CofferStore store, CancellationToken cancellationToken)
    {
        var adopted = await IndexInMemoryAsync(store, cancellationToken).ConfigureAwait(false);
        await store.WriteIndexAsync(adopted, cancellationToken).ConfigureAwait(false);
        return adopted.Count;
    }

    /// <summary>
    /// Adds every complete pack the in-memory index does not name (and maintenance has not marked) to it from
    /// the pack's header, writing nothing: how a store with a damaged index object reads on. Returns them.
    /// </summary>
    public static async Task<List<(string Pack, IReadOnlyList<PackEntry> Entries)>> IndexInMemoryAsync(CofferStore store, CancellationToken cancellationToken) =>
        (await IndexInMemoryAsync(store, includeMarked: false, cancellationToken).ConfigureAwait(false)).Indexed;

    /// <summary>
    /// As <see cref="IndexInMemoryAsync(CofferStore, CancellationToken)"/>, and with <paramref name="includeMarked"/>
    /// packs maintenance marked too (an index rebuilt from scratch must list them); also returns the packs
    /// whose header cannot be read.
    /// </summary>
    public static async Task<(List<(string Pack, IReadOnlyList<PackEntry> Entries)> Indexed, List<string> Unreadable)> IndexInMemoryAsync(CofferStore store, bool includeMarked, CancellationToken cancellationToken)
    {
        var adopted = new List<(string, IReadOnlyList<PackEntry>)>();
        var unreadable = new List<string>();
        foreach (var (pack, size) in await store.ListPacksAsync(cancellationToken).ConfigureAwait(false))
        {
            if (store.Index.PackEntries.ContainsKey(pack) || (!includeMarked && store.Index.Trashed.Contains(pack)))
            {
                continue;
            }

            if (await TryReadHeaderAsync(store, pack, size, cancellationToken).ConfigureAwait(false) is { } entries)
            {
                store.Index.AddPack(pack, entries);
                adopted.Add((pack, entries));
            }
            else
            {
                unreadable.Add(pack);
            }
        }

        return (adopted, unreadable);
    }

}
