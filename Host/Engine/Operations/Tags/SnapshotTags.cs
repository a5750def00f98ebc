using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;

namespace Coffer.Engine.Operations.Tags;

/// <summary>A change to snapshots' tags: replace them all (<see cref="Set"/>), or add and remove some.</summary>
internal sealed record TagChange
{
    /// <summary>The tags the snapshots end with; null to add and remove instead.</summary>
    public IReadOnlyList<string>? Set { get; init; }

    public IReadOnlyList<string> Add { get; init; } = [];

    public IReadOnlyList<string> Remove { get; init; } = [];

    /// <summary>The tags <paramref name="tags"/> become: their order kept, added ones after, each once.</summary>
    public IReadOnlyList<string> ApplyTo(IReadOnlyList<string> tags) =>
        (Set ?? tags.Concat(Add)).Where(tag => !Remove.Contains(tag, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
}

/// <summary>A snapshot a tag change looked at: as it was, as it is now, and whether it was rewritten.</summary>
internal sealed record TaggedSnapshot(Snapshot Before, Snapshot After)
{
    public bool Changed => !Before.Tags.SequenceEqual(After.Tags, StringComparer.Ordinal);
}

/// <summary>
/// Changes snapshots' tags. A snapshot object is rewritten in place under its own id (ids are random, not
/// hashes of the content, and later snapshots name it as their parent), in one atomic put; a snapshot
/// whose tags would not change is not written.
/// </summary>
internal static class SnapshotTags
{
    public static async Task<IReadOnlyList<TaggedSnapshot>> ChangeAsync(CofferStore store, IEnumerable<Snapshot> snapshots, TagChange change, CancellationToken cancellationToken)
    {
        var results = new List<TaggedSnapshot>();
        foreach (var snapshot in snapshots)
        {
            var tagged = new TaggedSnapshot(snapshot, snapshot with { Tags = change.ApplyTo(snapshot.Tags) });
            if (tagged.Changed)
            {
                await store.WriteSnapshotAsync(tagged.After, cancellationToken).ConfigureAwait(false);
            }

            results.Add(tagged);
        }

        return results;
    }
}
