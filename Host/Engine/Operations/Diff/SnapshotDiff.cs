using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;

namespace Coffer.Engine.Operations.Diff;

/// <summary>
/// Compares two trees entry by entry: <c>+ path</c> added, <c>- path</c> removed, <c>M path (what)</c>
/// changed (content, mode, mtime, owner, symlink target, kind). Identical subtrees (same tree blob) are
/// skipped without reading them.
/// </summary>
internal sealed class SnapshotDiff
{
    private readonly CofferStore _store;

    public SnapshotDiff(CofferStore store) => _store = store;

    public async IAsyncEnumerable<string> CompareAsync(Node before, Node after, string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var changes = Changes(before, after);
        if (changes.Count > 0 && path.Length > 0)
        {
            yield return $"M {path} ({string.Join(", ", changes)})";
        }

        if (before.Subtree == after.Subtree)
        {
            yield break;
        }

        var left = before.Subtree is null ? [] : (await _store.ReadTreeAsync(BlobId.Parse(before.Subtree), cancellationToken).ConfigureAwait(false)).Entries;
        var right = after.Subtree is null ? [] : (await _store.ReadTreeAsync(BlobId.Parse(after.Subtree), cancellationToken).ConfigureAwait(false)).Entries;
        int i = 0, j = 0;
        while (i < left.Count || j < right.Count)
        {
            var order = i == left.Count ? 1 : j == right.Count ? -1 : string.CompareOrdinal(left[i].Name, right[j].Name);
            if (order < 0)
            {
                await foreach (var line in AllAsync('-', left[i++], path, cancellationToken).ConfigureAwait(false))
                {
                    yield return line;
                }
            }
            else if (order > 0)
            {
                await foreach (var line in AllAsync('+', right[j++], path, cancellationToken).ConfigureAwait(false))
                {
                    yield return line;
                }
            }
            else
            {
                var child = Join(path, left[i].Name);
                await foreach (var line in CompareAsync(left[i++], right[j++], child, cancellationToken).ConfigureAwait(false))
                {
                    yield return line;
                }
            }
        }
    }

    private async IAsyncEnumerable<string> AllAsync(char marker, Node node, string parent, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (path, _) in _store.WalkAsync(node, Join(parent, node.Name), cancellationToken).ConfigureAwait(false))
        {
            yield return $"{marker} {path}";
        }
    }

    private static string Join(string parent, string name) => parent.Length == 0 ? name : $"{parent}/{name}";

    private static List<string> Changes(Node a, Node b)
    {
        var changes = new List<string>();
        if (a.Kind != b.Kind)
        {
            changes.Add($"kind {a.Kind} -> {b.Kind}");
            return changes;
        }

        if (a.Kind == Node.FileKind && (a.Size != b.Size || !(a.Content ?? []).SequenceEqual(b.Content ?? [])))
        {
            changes.Add("content");
        }

        if (a.Mode != b.Mode)
        {
            changes.Add("mode");
        }

        if (a.Kind != Node.DirectoryKind && a.Mtime != b.Mtime)
        {
            changes.Add("mtime");
        }

        if (a.Uid != b.Uid || a.Gid != b.Gid)
        {
            changes.Add("owner");
        }

        if (a.Target != b.Target)
        {
            changes.Add("target");
        }

        return changes;
    }
}
