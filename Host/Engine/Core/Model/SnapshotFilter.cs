namespace Coffer.Engine.Core.Model;

/// <summary>
/// Chooses snapshots by tag, host and source, as restic's <c>--tag/--host/--path</c> do: a snapshot passes
/// when it has every tag of at least one of <see cref="TagSets"/>, its host is one of <see cref="Hosts"/>,
/// and its source one of <see cref="Sources"/>; an empty list does not filter.
/// </summary>
internal sealed record SnapshotFilter
{
    /// <summary>Alternatives, each a set of tags a snapshot must all have (<c>--tag a,b --tag c</c>: a and b, or c).</summary>
    public IReadOnlyList<IReadOnlyList<string>> TagSets { get; init; } = [];

    public IReadOnlyList<string> Hosts { get; init; } = [];

    public IReadOnlyList<string> Sources { get; init; } = [];

    public bool IsEmpty => TagSets.Count == 0 && Hosts.Count == 0 && Sources.Count == 0;

    public bool Matches(Snapshot snapshot) =>
        (TagSets.Count == 0 || TagSets.Any(set => set.All(tag => snapshot.Tags.Contains(tag, StringComparer.Ordinal))))
        && (Hosts.Count == 0 || Hosts.Contains(snapshot.Hostname, StringComparer.OrdinalIgnoreCase))
        && (Sources.Count == 0 || Sources.Contains(snapshot.Source, StringComparer.Ordinal));

    /// <summary>The snapshots the filter lets through, in their order; none is a refusal, so a typo in a tag never reads as "nothing there".</summary>
    /// <exception cref="SnapshotNotFoundException">The filter matches none of <paramref name="snapshots"/>.</exception>
    public List<Snapshot> Select(IEnumerable<Snapshot> snapshots)
    {
        var selected = snapshots.Where(Matches).ToList();
        return selected.Count > 0 || IsEmpty ? selected : throw new SnapshotNotFoundException($"no snapshot matches {this}: see 'coffer ls'");
    }

    /// <summary>The filter as the options that made it, for messages.</summary>
    public override string ToString() => string.Join(' ',
        TagSets.Select(set => $"--tag {string.Join(',', set)}")
            .Concat(Hosts.Select(host => $"--host {host}"))
            .Concat(Sources.Select(source => $"--source {source}")));
}
