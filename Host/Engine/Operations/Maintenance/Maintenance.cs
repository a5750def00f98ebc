using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Locks;
using Coffer.Engine.Repository.Packs;

namespace Coffer.Engine.Operations.Maintenance;

/// <summary>What one maintenance run did.</summary>
internal sealed record MaintenanceReport
{
    public int Snapshots { get; init; }

    public int BlobsInUse { get; init; }

    public int OrphansIndexed { get; set; }

    public int Repacked { get; set; }

    public long RepackedBytes { get; set; }

    public int Marked { get; set; }

    public int Deleted { get; set; }

    public long DeletedBytes { get; set; }

    public int Deferred { get; set; }

    public string? DeferredBecause { get; set; }

    /// <summary>The short ids of the damaged snapshot objects that made this run free nothing (see <see cref="Maintenance"/>).</summary>
    public IReadOnlyList<string> DamagedSnapshots { get; init; } = [];
}

/// <summary>
/// Frees what no snapshot needs, safely beside running backups (docs/store-format.md, "Maintenance"):
/// packs nothing references, and sparse packs once their live blobs are copied, are first <em>marked</em>
/// (the <c>trash</c> object); a marked pack is deleted only when no backup that could have started before
/// the mark (within the clock-skew allowance) still holds a lock, and when every blob a snapshot needs
/// from it has a copy elsewhere. Then the index is rewritten as one object.
/// While a snapshot object is damaged, nothing is marked, repacked or deleted: which blobs it needs cannot be
/// known, and restic's prune refuses for the same reason. The index is still rewritten (which also replaces a
/// damaged index object), and the report names the damaged snapshots (docs/reliability.md).
/// </summary>
internal sealed class Maintenance
{
    private readonly CofferStore _store;
    private readonly TimeProvider _time;
    private readonly string _hostName;
    private readonly TimeSpan _skew;
    private readonly IReadOnlyList<string> _indexObjects;

    /// <param name="store">The store, locked for maintenance, its index loaded.</param>
    /// <param name="indexObjects">The index objects the index was loaded from (rewritten into one).</param>
    /// <param name="time">The clock.</param>
    /// <param name="hostName">The name of the host this runs on (a backup lock of it is stale once its process is gone).</param>
    /// <param name="skew">How far clocks of hosts sharing the store may disagree.</param>
    public Maintenance(CofferStore store, IReadOnlyList<string> indexObjects, TimeProvider time, string hostName, TimeSpan skew)
    {
        _store = store;
        _indexObjects = indexObjects;
        _time = time;
        _hostName = hostName;
        _skew = skew;
    }

    /// <summary>A pack is repacked when less than this share of its bytes is still needed.</summary>
    public const double SparseBelow = 0.5;

    public async Task<MaintenanceReport> RunAsync(bool dryRun, CancellationToken cancellationToken)
    {
        var index = _store.Index;
        var trash = await Trash.ReadAsync(_store, cancellationToken).ConfigureAwait(false);

        // Packs no index names: left by a backup that was killed, or one still uploading. Index them from
        // their headers; they are judged like every other pack (a running backup's lock protects them).
        var packs = await _store.ListPacksAsync(cancellationToken).ConfigureAwait(false);

        var contents = PackContents(index);
        var orphans = 0;
        foreach (var (pack, size) in packs)
        {
            if (!contents.ContainsKey(pack) && await OrphanPacks.TryReadHeaderAsync(_store, pack, size, cancellationToken).ConfigureAwait(false) is { } entries)
            {
                index.AddPack(pack, entries);
                contents[pack] = entries.Select(e => (e.Id, e.Length)).ToList();
                orphans++;
            }
        }

        var listing = await _store.ListAllSnapshotsAsync(cancellationToken).ConfigureAwait(false);
        if (listing.Damaged.Count > 0)
        {
            var held = new MaintenanceReport { Snapshots = listing.Snapshots.Count, OrphansIndexed = orphans, DamagedSnapshots = listing.Damaged.Select(d => d.ShortName).ToList() };
            if (!dryRun)
            {
                await RewriteIndexAsync(contents.Keys.Where(packs.ContainsKey), cancellationToken).ConfigureAwait(false);
            }

            return held;
        }

        var snapshots = listing.Snapshots;
        var used = new HashSet<BlobId>();
        foreach (var snapshot in snapshots)
        {
            await AddReferencesAsync(snapshot, used, cancellationToken).ConfigureAwait(false);
        }

        var report = new MaintenanceReport { Snapshots = snapshots.Count, BlobsInUse = used.Count, OrphansIndexed = orphans };
        var now = _time.GetUtcNow();

        // Phase one: mark unused and sparse packs; copy the live blobs of sparse ones.
        var sparse = new List<string>();
        foreach (var (pack, blobs) in contents)
        {
            if (!packs.ContainsKey(pack) || trash.Packs.ContainsKey(pack))
            {
                continue;
            }

            long total = blobs.Sum(b => (long)b.Length), live = blobs.Where(b => used.Contains(b.Id)).Sum(b => (long)b.Length);
            if (live == 0)
            {
                trash.Packs[pack] = now;
                report.Marked++;
            }
            else if (live < total * SparseBelow)
            {
                sparse.Add(pack);
            }
        }

        if (dryRun)
        {
            report.Repacked = sparse.Count;
            return report;
        }

        if (sparse.Count > 0)
        {
            await RepackAsync(sparse, used, report, cancellationToken).ConfigureAwait(false);
            foreach (var pack in sparse)
            {
                trash.Packs[pack] = now;
                report.Marked++;
            }
        }

        // The mark must be in the store before the locks are read: a backup that locks after this reads it.
        await trash.WriteAsync(_store, cancellationToken).ConfigureAwait(false);
        index.Trashed = trash.Packs.Keys.ToHashSet(StringComparer.Ordinal);

        // Phase two: delete marked packs no running backup can be using.
        var backups = (await StoreLock.ListAsync(_store, cancellationToken).ConfigureAwait(false))
            .Where(l => l.Lock is { } info && info.ParsedKind == LockKind.Backup && !info.IsStale(_time.GetUtcNow(), _hostName))
            .Select(l => l.Lock!)
            .ToList();

        // Snapshots that appeared since the first listing (a backup finished meanwhile) count too.
        var known = snapshots.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var snapshot in await _store.ListSnapshotsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!known.Contains(snapshot.Id))
            {
                await AddReferencesAsync(snapshot, used, cancellationToken).ConfigureAwait(false);
            }
        }

        var delete = new List<string>();
        foreach (var (pack, marked) in trash.Packs.ToList())
        {
            var blocker = backups.FirstOrDefault(b => b.Time < marked + _skew);
            if (blocker is not null || now < marked)
            {
                report.Deferred++;
                report.DeferredBecause ??= blocker is null ? "marked in the future (clock skew)" : $"a backup is running: {blocker.Describe()}";
                continue;
            }

            // A blob still needed (a backup reused it before the mark) keeps its pack unless a copy lives elsewhere.
            var stillNeeded = contents.TryGetValue(pack, out var blobs) && blobs.Any(b => used.Contains(b.Id) && !index.Contains(b.Id));
            if (stillNeeded)
            {
                trash.Packs.Remove(pack);
                continue;
            }

            delete.Add(pack);
        }

        // Rewrite the index without the packs about to go, then delete them: a run that dies in between
        // leaves unindexed packs, which the next run indexes and marks again.
        var gone = delete.ToHashSet(StringComparer.Ordinal);
        await RewriteIndexAsync(contents.Keys.Where(p => packs.ContainsKey(p) && !gone.Contains(p)), cancellationToken).ConfigureAwait(false);

        foreach (var pack in delete)
        {
            await _store.DeletePackAsync(pack, cancellationToken).ConfigureAwait(false);
            trash.Packs.Remove(pack);
            report.Deleted++;
            report.DeletedBytes += packs.GetValueOrDefault(pack);
        }

        await trash.WriteAsync(_store, cancellationToken).ConfigureAwait(false);
        return report;
    }

    /// <summary>Writes index objects listing <paramref name="keep"/>, then deletes the objects the index was read from.</summary>
    private async Task RewriteIndexAsync(IEnumerable<string> keep, CancellationToken cancellationToken)
    {
        var rewritten = (await _store.WriteIndexAsync(keep.Select(p => (p, (IReadOnlyList<PackEntry>)FullEntries(_store.Index, p))).Where(e => e.Item2.Count > 0).ToList(), cancellationToken).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
        // A plaintext index object is named by its content: the rewrite may be one of the old objects.
        foreach (var name in _indexObjects.Where(n => !rewritten.Contains(n)))
        {
            await _store.DeleteIndexObjectAsync(name, cancellationToken).ConfigureAwait(false);
        }
    }

    private static Dictionary<string, List<(BlobId Id, uint Length)>> PackContents(StoreIndex index) =>
        index.PackEntries.ToDictionary(p => p.Key, p => p.Value.Select(e => (e.Id, e.Length)).ToList(), StringComparer.Ordinal);

    private static List<PackEntry> FullEntries(StoreIndex index, string pack) =>
        index.PackEntries.TryGetValue(pack, out var entries) ? entries.ToList() : [];

    /// <summary>Adds what a snapshot references; a snapshot a backup finished meanwhile may need index objects written after ours were read.</summary>
    private async Task AddReferencesAsync(Snapshot snapshot, HashSet<BlobId> used, CancellationToken cancellationToken)
    {
        try
        {
            used.UnionWith(await WalkAsync(snapshot, used, cancellationToken).ConfigureAwait(false));
        }
        catch (MissingBlobException)
        {
            await LoadNewIndexObjectsAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                used.UnionWith(await WalkAsync(snapshot, used, cancellationToken).ConfigureAwait(false));
            }
            catch (MissingBlobException e)
            {
                throw new StoreException($"snapshot {snapshot.ShortId}: {e.Message}: run 'coffer check'; maintenance deleted nothing", e);
            }
        }
    }

    private readonly HashSet<string> _loaded = new(StringComparer.Ordinal);

    private async Task LoadNewIndexObjectsAsync(CancellationToken cancellationToken)
    {
        _loaded.UnionWith(_indexObjects);
        foreach (var name in await _store.ListIndexObjectsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_loaded.Add(name))
            {
                // Read, not scheduled for deletion: only the objects read at the start are rewritten.
                _store.Index.Load(_store.Keys, await _store.ReadObjectAsync(StorageObjectClass.Index, name, cancellationToken).ConfigureAwait(false), name);
            }
        }
    }

    /// <summary>The blobs a snapshot references that <paramref name="known"/> does not hold yet (their subtrees are walked already).</summary>
    private async Task<HashSet<BlobId>> WalkAsync(Snapshot snapshot, HashSet<BlobId> known, CancellationToken cancellationToken)
    {
        var used = new HashSet<BlobId>();
        var pending = new Stack<Node>();
        pending.Push(snapshot.Root);
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            foreach (var c in node.Content ?? [])
            {
                used.Add(BlobId.Parse(c));
            }

            if (node.Subtree is { } subtree && !known.Contains(BlobId.Parse(subtree)) && used.Add(BlobId.Parse(subtree)))
            {
                foreach (var child in (await _store.ReadTreeAsync(BlobId.Parse(subtree), cancellationToken).ConfigureAwait(false)).Entries)
                {
                    pending.Push(child);
                }
            }
        }

        return used;
    }

    private async Task RepackAsync(List<string> sparse, HashSet<BlobId> used, MaintenanceReport report, CancellationToken cancellationToken)
    {
        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var uploader = new PackUploader(_store, concurrency: 2, failure);
        try
        {
            foreach (var pack in sparse)
            {
                foreach (var entry in _store.Index.PackEntries[pack])
                {
                    if (!used.Contains(entry.Id) || (_store.Index.TryGet(entry.Id, out var at) && at.Pack != pack && !sparse.Contains(at.Pack)))
                    {
                        continue;
                    }

                    // Sealed bytes are bound to the blob's type and id, not to its pack: copy them as they are.
                    var buffer = await _store.ReadPackRangeAsync(pack, entry.Offset, (int)entry.Length, failure.Token).ConfigureAwait(false);
                    await uploader.AddAsync(entry.Type, entry.Id, buffer, (int)entry.Length, (int)entry.RawLength, failure.Token).ConfigureAwait(false);
                    report.RepackedBytes += entry.Length;
                }

                report.Repacked++;
            }

            await uploader.CompleteAsync(failure.Token).ConfigureAwait(false);
        }
        catch
        {
            await failure.CancelAsync().ConfigureAwait(false);
            await uploader.AbandonAsync().ConfigureAwait(false);
            throw;
        }
    }
}
