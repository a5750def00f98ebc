using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Packs;

namespace Coffer.Engine.Operations.Repair;

/// <summary>A snapshot a repair salvaged: the entries it lost (path and why), and the snapshot as rewritten.</summary>
/// <param name="Snapshot">The snapshot as salvaged (same id).</param>
/// <param name="Lost">Each lost entry's path and why it was lost.</param>
internal sealed record SalvagedSnapshot(Snapshot Snapshot, IReadOnlyList<(string Path, string Reason)> Lost);

/// <summary>What a snapshot repair did (or, in a dry run, would do).</summary>
/// <param name="Removed">Snapshot objects that could not be read, removed.</param>
/// <param name="Salvaged">Snapshots rewritten without what they lost.</param>
internal sealed record SnapshotRepairReport(IReadOnlyList<DamagedObject> Removed, IReadOnlyList<SalvagedSnapshot> Salvaged);

/// <summary>
/// <c>coffer repair snapshots</c> (restic's name). A snapshot object that cannot be read can only be removed.
/// A readable snapshot whose trees or data are partly gone is salvaged: rewritten in place under its own id
/// (as <c>tag</c> does, so later snapshots still name it as their parent) with every readable entry kept, a
/// directory whose tree cannot be read kept as an empty directory and a file whose content blobs are not in
/// the store kept without content, each with an error saying what was lost (restore and check report them).
/// What is judged lost is what a fast check finds (unreadable trees, blobs not indexed or in a missing or
/// short pack): run it after 'coffer check' and 'coffer repair index'.
/// </summary>
internal static class SnapshotRepair
{
    /// <summary>The error a salvaged entry carries; restore and check show it.</summary>
    public const string LostPrefix = "lost in a repair: ";

    /// <param name="store">The store, locked for maintenance, its index loaded.</param>
    /// <param name="dryRun">Only say what would be done.</param>
    /// <param name="cancellationToken">Cancels the repair.</param>
    public static async Task<SnapshotRepairReport> RunAsync(CofferStore store, bool dryRun, CancellationToken cancellationToken)
    {
        var listing = await store.ListAllSnapshotsAsync(cancellationToken).ConfigureAwait(false);
        var packs = await store.ListPacksAsync(cancellationToken).ConfigureAwait(false);
        var salvaged = new List<SalvagedSnapshot>();
        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var uploader = new PackUploader(store, concurrency: 1, failure);
        try
        {
            foreach (var snapshot in listing.Snapshots)
            {
                var lost = new List<(string, string)>();
                var root = await SalvageAsync(store, snapshot.Root, "", packs, lost, dryRun ? null : uploader, failure.Token).ConfigureAwait(false);
                if (lost.Count > 0)
                {
                    salvaged.Add(new SalvagedSnapshot(snapshot with { Root = root, Summary = snapshot.Summary with { Errors = snapshot.Summary.Errors + lost.Count } }, lost));
                }
            }

            // Trees first, then the snapshots that name them, then the removals.
            await uploader.CompleteAsync(failure.Token).ConfigureAwait(false);
        }
        catch
        {
            await failure.CancelAsync().ConfigureAwait(false);
            await uploader.AbandonAsync().ConfigureAwait(false);
            throw;
        }

        if (!dryRun)
        {
            foreach (var s in salvaged)
            {
                await store.WriteSnapshotAsync(s.Snapshot, cancellationToken).ConfigureAwait(false);
            }

            foreach (var damaged in listing.Damaged)
            {
                await store.DeleteSnapshotAsync(damaged.Name, cancellationToken).ConfigureAwait(false);
            }
        }

        return new SnapshotRepairReport(listing.Damaged, salvaged);
    }

    /// <summary>The node with what is lost below it cut out (the same node when nothing is); a null uploader writes nothing.</summary>
    private static async Task<Node> SalvageAsync(CofferStore store, Node node, string path, Dictionary<string, long> packs, List<(string, string)> lost, PackUploader? uploader, CancellationToken cancellationToken)
    {
        if (node.Subtree is { } subtree)
        {
            TreeNode tree;
            try
            {
                tree = await store.ReadTreeAsync(BlobId.Parse(subtree), cancellationToken).ConfigureAwait(false);
            }
            catch (StoreException e)
            {
                lost.Add((path, $"directory unreadable: {e.Message}"));
                return node with { Subtree = await WriteTreeAsync(uploader, new TreeNode { Entries = [] }, cancellationToken).ConfigureAwait(false), Error = $"{LostPrefix}directory unreadable: {e.Message}" };
            }

            var entries = new List<Node>(tree.Entries.Count);
            foreach (var child in tree.Entries)
            {
                entries.Add(await SalvageAsync(store, child, path.Length == 0 ? child.Name : $"{path}/{child.Name}", packs, lost, uploader, cancellationToken).ConfigureAwait(false));
            }

            return entries.SequenceEqual(tree.Entries, ReferenceEqualityComparer.Instance)
                ? node
                : node with { Subtree = await WriteTreeAsync(uploader, new TreeNode { Entries = entries }, cancellationToken).ConfigureAwait(false) };
        }

        if (node.Kind == Node.FileKind && node.Error is null && (node.Content ?? []).Select(c => store.Index.Problem(BlobId.Parse(c), packs)).FirstOrDefault(p => p is not null) is { } problem)
        {
            lost.Add((path, $"content unreadable: {problem}"));
            return node with { Content = [], Extents = null, Size = 0, Sha256 = null, Error = $"{LostPrefix}content unreadable: {problem}" };
        }

        return node;
    }

    private static async Task<string> WriteTreeAsync(PackUploader? uploader, TreeNode tree, CancellationToken cancellationToken) =>
        uploader is null ? "" : (await uploader.AddTreeAsync(tree, cancellationToken).ConfigureAwait(false)).ToString();
}
