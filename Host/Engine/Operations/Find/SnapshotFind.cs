using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;

namespace Coffer.Engine.Operations.Find;

/// <summary>An entry <c>find</c> matched, in the snapshot it was found in; the path is relative to the snapshot's root.</summary>
internal sealed record FindMatch(Snapshot Snapshot, string Path, Node Node);

/// <summary>
/// Looks for entries in snapshots by name, path, kind, mtime and size. It reads tree blobs only (the
/// snapshot's metadata is all it needs), never file content.
/// </summary>
internal sealed class SnapshotFind
{
    private readonly CofferStore _store;

    public SnapshotFind(CofferStore store) => _store = store;

    /// <summary>The matches of <paramref name="query"/> in each of <paramref name="snapshots"/>, snapshot by snapshot, each tree in walk order.</summary>
    public async IAsyncEnumerable<FindMatch> FindAsync(IEnumerable<Snapshot> snapshots, FindQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var matches = query.CreateMatcher();

        // Snapshots of one source share most of their directories: each shared tree is read once.
        var trees = new Dictionary<string, TreeNode>(StringComparer.Ordinal);
        foreach (var snapshot in snapshots)
        {
            // A directory's root is the source itself, not an entry in it (ls and restore do not name it
            // either); a file backed up alone is its own entry, under its name.
            var rootPath = snapshot.Root.Kind == Node.DirectoryKind ? "" : snapshot.Root.Name;
            await PrefetchTreesAsync(snapshot.Root, trees, cancellationToken).ConfigureAwait(false);
            await foreach (var (path, node) in _store.WalkAsync(snapshot.Root, rootPath, trees, cancellationToken).ConfigureAwait(false))
            {
                if (path.Length > 0 && matches(path, node))
                {
                    yield return new FindMatch(snapshot, path, node);
                }
            }
        }
    }

    /// <summary>
    /// Reads a snapshot's trees into <paramref name="trees"/> a directory level at a time, in parallel (up to
    /// <see cref="CofferStore.MaxCachedTrees"/>): read one by one as the walk meets them, tree reads were most
    /// of a find's walk. A tree that cannot be read is left to the walk, which reports it where it is met.
    /// </summary>
    private async Task PrefetchTreesAsync(Node root, Dictionary<string, TreeNode> trees, CancellationToken cancellationToken)
    {
        var level = root.Subtree is { } rootTree ? new List<string> { rootTree } : [];
        while (level.Count > 0)
        {
            var missing = level.Where(id => !trees.ContainsKey(id)).Distinct(StringComparer.Ordinal).Take(CofferStore.MaxCachedTrees - trees.Count).ToList();
            var read = await _store.ReadTreesAsync(missing, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < missing.Count; i++)
            {
                if (read[i] is { } tree)
                {
                    trees[missing[i]] = tree;
                }
            }

            level = level.Where(trees.ContainsKey).SelectMany(id => trees[id].Entries).Select(entry => entry.Subtree).OfType<string>().ToList();
        }
    }
}
