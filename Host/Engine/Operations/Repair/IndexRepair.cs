using Coffer.Abstractions;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Packs;

namespace Coffer.Engine.Operations.Repair;

/// <summary>What an index repair did (or, in a dry run, would do).</summary>
/// <param name="PacksListed">Packs whose entries came from readable index objects.</param>
/// <param name="PacksFromHeaders">Packs no readable index object listed, indexed from their own headers.</param>
/// <param name="UnreadablePacks">Packs no readable index object lists whose header cannot be read either: their blobs are lost.</param>
/// <param name="MissingPacks">Packs an index object listed that are not in the store (left out of the new index).</param>
/// <param name="Replaced">The index objects the new ones replace (damaged ones included).</param>
/// <param name="Written">The new index objects (none in a dry run).</param>
internal sealed record IndexRepairReport(int PacksListed, int PacksFromHeaders, IReadOnlyList<string> UnreadablePacks, IReadOnlyList<string> MissingPacks, IReadOnlyList<string> Replaced, IReadOnlyList<string> Written);

/// <summary>
/// <c>coffer repair index</c> (restic's name): rewrites the index from what the store holds. Entries of
/// readable index objects are kept for packs that exist; every other pack is indexed from its own header
/// (each pack ends with its encrypted list of blobs, docs/store-format.md); then the new objects are written
/// and only then the old ones, damaged or not, deleted, so a run that dies half way loses nothing.
/// </summary>
internal static class IndexRepair
{
    /// <param name="store">The store, locked for maintenance, its index loaded.</param>
    /// <param name="dryRun">Only say what would be done.</param>
    /// <param name="cancellationToken">Cancels the repair.</param>
    public static async Task<IndexRepairReport> RunAsync(CofferStore store, bool dryRun, CancellationToken cancellationToken)
    {
        var packs = await store.ListPacksAsync(cancellationToken).ConfigureAwait(false);
        var fromHeaders = store.PacksIndexedFromHeaders.ToHashSet(StringComparer.Ordinal);
        var (indexed, unreadable) = await OrphanPacks.IndexInMemoryAsync(store, includeMarked: true, cancellationToken).ConfigureAwait(false);
        fromHeaders.UnionWith(indexed.Select(p => p.Pack));

        var missing = store.Index.PackEntries.Keys.Where(p => !packs.ContainsKey(p)).Order(StringComparer.Ordinal).ToList();
        var keep = store.Index.PackEntries.Where(p => packs.ContainsKey(p.Key)).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value)).ToList();
        var replaced = store.LoadedIndexObjects.Concat(store.DamagedIndexObjects.Select(d => d.Name)).ToList();
        IReadOnlyList<string> written = [];
        if (!dryRun)
        {
            // Damaged objects go first: they hold nothing readable, and a plaintext index object is named by its
            // content, so the rewrite of a truncated one may land on its very name and must not find it there
            // (a put of an existing name keeps what is stored). A crash right after leaves packs the next
            // command indexes from their headers.
            foreach (var damaged in store.DamagedIndexObjects)
            {
                try
                {
                    await store.DeleteIndexObjectAsync(damaged.Name, cancellationToken).ConfigureAwait(false);
                }
                catch (NotFoundException)
                {
                    // It vanished while the index was read (maintenance replaced it): nothing to delete.
                }
            }

            written = await store.WriteIndexAsync(keep, cancellationToken).ConfigureAwait(false);

            // A rewritten readable object may be one of the old ones, for the same reason.
            foreach (var name in store.LoadedIndexObjects.Except(written, StringComparer.Ordinal))
            {
                await store.DeleteIndexObjectAsync(name, cancellationToken).ConfigureAwait(false);
            }
        }

        return new IndexRepairReport(keep.Count - fromHeaders.Count(packs.ContainsKey), fromHeaders.Count(packs.ContainsKey), unreadable, missing, replaced, written);
    }
}
