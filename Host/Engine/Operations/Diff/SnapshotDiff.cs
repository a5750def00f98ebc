using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;

namespace Coffer.Engine.Operations.Diff;

/// <summary>One difference: <c>+</c> added, <c>-</c> removed or <c>M</c> modified (with what changed), at a path.</summary>
internal sealed record DiffChange(char Marker, string Path, IReadOnlyList<string> What)
{
    /// <summary>The change as <c>diff</c> prints it: <c>+ path</c>, <c>- path</c>, <c>M path (what)</c>.</summary>
    public override string ToString() => What.Count == 0 ? $"{Marker} {DisplayText.Name(Path)}" : $"{Marker} {DisplayText.Name(Path)} ({string.Join(", ", What)})";
}

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
        await foreach (var change in ChangesAsync(before, after, path, cancellationToken).ConfigureAwait(false))
        {
            yield return change.ToString();
        }
    }

    /// <summary>The differences as <see cref="CompareAsync"/> prints them, each as a <see cref="DiffChange"/>, in walk order.</summary>
    public async IAsyncEnumerable<DiffChange> ChangesAsync(Node before, Node after, string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var changes = Changes(before, after);
        if (changes.Count > 0 && path.Length > 0)
        {
            yield return new DiffChange('M', path, changes);
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
                await foreach (var line in ChangesAsync(left[i++], right[j++], child, cancellationToken).ConfigureAwait(false))
                {
                    yield return line;
                }
            }
        }
    }

    private async IAsyncEnumerable<DiffChange> AllAsync(char marker, Node node, string parent, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (path, _) in _store.WalkAsync(node, Join(parent, node.Name), cancellationToken).ConfigureAwait(false))
        {
            yield return new DiffChange(marker, path, []);
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

        if (a.Kind == Node.FileKind && !FileExtents.SameContent(a, b))
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
