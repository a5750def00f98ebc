using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;

namespace Coffer.Engine.Operations.Retention;

/// <summary>A snapshot an rm keeps, and why.</summary>
/// <param name="Snapshot">The snapshot.</param>
/// <param name="Rules">The keep rules that keep it (last, hourly, daily, weekly, monthly, yearly, within D, tag T); empty when it is kept only for being newer than the age limit.</param>
internal sealed record KeptSnapshot(Snapshot Snapshot, IReadOnlyList<string> Rules);

/// <summary>What an rm keeps and removes, in the store's snapshot order (removals by id in the order given).</summary>
internal sealed record RemovalPlan(IReadOnlyList<KeptSnapshot> Kept, IReadOnlyList<Snapshot> Removed)
{
    /// <summary>Damaged snapshot objects named by id: removed as they are (a policy never removes one, it cannot tell their time).</summary>
    public IReadOnlyList<DamagedObject> RemovedDamaged { get; init; } = [];
}

/// <summary>Decides which snapshots an rm removes; removing one is <see cref="CofferStore.DeleteSnapshotAsync"/>.</summary>
internal static class SnapshotRemoval
{
    /// <summary>Plans removing the snapshots <paramref name="references"/> name (ids or id prefixes), each once.</summary>
    /// <exception cref="Core.SnapshotNotFoundException">A reference matches no snapshot, or several.</exception>
    public static async Task<RemovalPlan> PlanAsync(CofferStore store, IReadOnlyList<string> references, CancellationToken cancellationToken)
    {
        var (snapshots, damaged) = await store.FindSnapshotObjectsAsync(references, cancellationToken).ConfigureAwait(false);
        return new([], snapshots) { RemovedDamaged = damaged };
    }

    /// <summary>
    /// Plans removing by policy among the snapshots <paramref name="filter"/> lets through (the others are
    /// neither kept nor removed): a snapshot <paramref name="policy"/> keeps stays; of the others, those older
    /// than <paramref name="olderThan"/> go (all of them when it is null).
    /// </summary>
    /// <exception cref="Core.SnapshotNotFoundException">The filter matches no snapshot.</exception>
    public static async Task<RemovalPlan> PlanAsync(CofferStore store, RetentionPolicy policy, TimeSpan? olderThan, SnapshotFilter filter, TimeProvider time, CancellationToken cancellationToken)
    {
        var snapshots = filter.Select(await store.ListSnapshotsAsync(cancellationToken).ConfigureAwait(false));

        var now = time.GetUtcNow();
        var keptByPolicy = policy.IsEmpty ? [] : policy.Keep(snapshots);
        var kept = new List<KeptSnapshot>();
        var remove = new List<Snapshot>();
        foreach (var snapshot in snapshots)
        {
            if (keptByPolicy.TryGetValue(snapshot.Id, out var rules))
            {
                kept.Add(new KeptSnapshot(snapshot, rules));
            }
            else if (olderThan is null || snapshot.Time < now - olderThan.Value)
            {
                remove.Add(snapshot);
            }
            else
            {
                kept.Add(new KeptSnapshot(snapshot, []));
            }
        }

        return new RemovalPlan(kept, remove);
    }
}
