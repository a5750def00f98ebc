using System.Security.Cryptography;
using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Packs;

namespace Coffer.Engine.Operations.Check;

/// <summary>One problem a check found, as a line for the user.</summary>
/// <param name="Snapshot">The damaged snapshot's short id, or null for a problem of the store itself (a pack).</param>
/// <param name="Path">The damaged file or directory in the snapshot, or null.</param>
/// <param name="Reason">What is wrong.</param>
internal sealed record CheckProblem(string? Snapshot, string? Path, string Reason)
{
    public override string ToString() => Snapshot is null
        ? Reason
        : $"snapshot {Snapshot}: {(Path is { Length: > 0 } ? Path : "/")}: {Reason}";
}

/// <summary>What a check found.</summary>
/// <param name="Problems">Every problem, as lines for the user; none when the check passed.</param>
/// <param name="FilesChecked">How many files of the snapshots were checked.</param>
/// <param name="BlobsChecked">How many blobs were read and verified (none in a fast check).</param>
internal sealed record CheckResult(IReadOnlyList<CheckProblem> Problems, long FilesChecked, long BlobsChecked)
{
    /// <summary>The packs read and verified, in id order.</summary>
    public IReadOnlyList<string> PacksRead { get; init; } = [];

    /// <summary>How many packs the index names (of which <see cref="PacksRead"/> were read).</summary>
    public int PacksIndexed { get; init; }

    /// <summary>
    /// Entries the backup could not read (the tree records why): the snapshot is incomplete, which is the
    /// source's fault, not damage of the store, so these are not <see cref="Problems"/>.
    /// </summary>
    public IReadOnlyList<CheckProblem> Incomplete { get; init; } = [];
}

/// <summary>
/// Verifies snapshots. Fast: every tree is readable and every blob a file needs is indexed and inside a
/// pack that exists and is long enough. Full: every file's content is read back (each blob authenticated,
/// decoded and checked against its MAC id) and checked against its SHA-256, and every other blob of
/// every pack is read and checked too, and each pack against its name (the SHA-256 of its bytes).
/// </summary>
internal sealed class Checker
{
    private readonly CofferStore _store;
    private readonly HashSet<BlobId> _good = [];
    private readonly Dictionary<BlobId, string> _bad = [];
    private readonly HashSet<string> _goodFiles = new(StringComparer.Ordinal);
    private readonly List<CheckProblem> _problems = [];
    private readonly List<CheckProblem> _incomplete = [];
    private long _filesChecked;

    public Checker(CofferStore store) => _store = store;

    /// <summary>How many files have been checked so far: a running check's progress, readable from any thread.</summary>
    public long FilesChecked => Interlocked.Read(ref _filesChecked);

    /// <summary>Damaged snapshot objects to report as problems (those of the listing the snapshots came from).</summary>
    public IReadOnlyList<DamagedObject> DamagedSnapshots { get; init; } = [];

    public Task<CheckResult> RunAsync(IReadOnlyList<Snapshot> snapshots, bool fast, CancellationToken cancellationToken) =>
        RunAsync(snapshots, fast, null, Random.Shared, cancellationToken);

    /// <summary>
    /// With <paramref name="subset"/>, the snapshots get the fast check and only the packs the subset selects
    /// are read (a damaged blob there still marks the files that need it as damaged).
    /// </summary>
    public async Task<CheckResult> RunAsync(IReadOnlyList<Snapshot> snapshots, bool fast, PackSubset? subset, Random random, CancellationToken cancellationToken)
    {
        // Objects the store could not even load come first: each is named with the command that repairs it.
        await _store.VerifyCachedIndexObjectsAsync(cancellationToken).ConfigureAwait(false);
        foreach (var damaged in _store.DamagedIndexObjects)
        {
            _problems.Add(new CheckProblem(null, null, $"{damaged.Reason}: rewrite the index from the packs with 'coffer repair index'"));
        }

        foreach (var damaged in DamagedSnapshots)
        {
            _problems.Add(new CheckProblem(null, null, $"{damaged.Reason}: remove it with 'coffer repair snapshots'"));
        }

        var packs = await _store.ListPacksAsync(cancellationToken).ConfigureAwait(false);
        // Only a check that reads packs needs each pack's blobs in RAM; a fast one counts the packs (RAM a pack, not a blob).
        var readsPacks = !fast || subset is not null;
        var byPack = (readsPacks ? _store.Index.Blobs : []).GroupBy(b => b.Value.Pack, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var packsIndexed = readsPacks ? byPack.Count : _store.Index.Blobs.Select(b => b.Value.Pack).Distinct(StringComparer.Ordinal).Count();
        var packsRead = new List<string>();

        if (readsPacks)
        {
            // Packs first: then a file's check knows which of its blobs are damaged without reading them twice.
            var toRead = subset is null ? byPack.Keys.Order(StringComparer.Ordinal).ToList() : subset.Select(byPack.Keys, random);
            foreach (var pack in toRead)
            {
                if (packs.ContainsKey(pack))
                {
                    await CheckPackAsync(pack, byPack[pack], cancellationToken).ConfigureAwait(false);
                    packsRead.Add(pack);
                }
            }
        }

        foreach (var snapshot in snapshots)
        {
            await CheckSnapshotAsync(snapshot, packs, fast || subset is not null, cancellationToken).ConfigureAwait(false);
        }

        return new CheckResult(_problems.ToList(), _filesChecked, _good.Count + _bad.Count) { PacksRead = packsRead, PacksIndexed = packsIndexed, Incomplete = _incomplete.ToList() };
    }

    private async Task CheckPackAsync(string pack, List<KeyValuePair<BlobId, BlobLocation>> entries, CancellationToken cancellationToken)
    {
        var bytes = await _store.ReadObjectAsync(StorageObjectClass.Packfile, pack, cancellationToken).ConfigureAwait(false);
        if (Convert.ToHexStringLower(SHA256.HashData(bytes)) != pack)
        {
            _problems.Add(new CheckProblem(null, null, $"pack {pack} is damaged: its content does not match its name"));
        }

        foreach (var (id, location) in entries)
        {
            if (location.Offset + (long)location.Length > bytes.Length)
            {
                _bad[id] = $"blob {id} is cut off: pack {pack} is too short";
                continue;
            }

            var plain = BlobBuffers.Pool.Rent(Math.Max(1, (int)location.RawLength));
            try
            {
                _store.Codec.Decode(location.Type, id, bytes.AsSpan((int)location.Offset, (int)location.Length), (int)location.RawLength, plain);
                _good.Add(id);
            }
            catch (DamagedBlobException e)
            {
                _bad[id] = $"{e.Message} (pack {pack})";
            }
            finally
            {
                BlobBuffers.Pool.Return(plain);
            }
        }
    }

    private async Task CheckSnapshotAsync(Snapshot snapshot, Dictionary<string, long> packs, bool fast, CancellationToken cancellationToken)
    {
        var pending = new Stack<(string Path, Node Node)>();
        pending.Push(("", snapshot.Root));
        while (pending.Count > 0)
        {
            var (path, node) = pending.Pop();
            if (node.Error is { } error)
            {
                _incomplete.Add(new CheckProblem(snapshot.ShortId, path, $"not backed up: {error}"));
            }

            if (node.Subtree is { } subtree)
            {
                var id = BlobId.Parse(subtree);
                var problem = BlobProblem(id, packs);
                if (problem is not null)
                {
                    _problems.Add(new CheckProblem(snapshot.ShortId, path, $"directory unreadable: {problem}"));
                    continue;
                }

                TreeNode tree;
                try
                {
                    tree = await _store.ReadTreeAsync(id, cancellationToken).ConfigureAwait(false);
                }
                catch (StoreException e)
                {
                    _problems.Add(new CheckProblem(snapshot.ShortId, path, $"directory unreadable: {e.Message}"));
                    continue;
                }

                foreach (var child in tree.Entries)
                {
                    pending.Push((path.Length == 0 ? child.Name : $"{path}/{child.Name}", child));
                }
            }
            else if (node.Kind == Node.FileKind && node.Error is null)
            {
                Interlocked.Increment(ref _filesChecked);
                var problem = (node.Content ?? []).Select(c => BlobProblem(BlobId.Parse(c), packs)).FirstOrDefault(p => p is not null) ?? ExtentsProblem(node, path);
                if (problem is not null)
                {
                    _problems.Add(new CheckProblem(snapshot.ShortId, path, $"file damaged: {problem}"));
                }
                else if (!fast && node.Sha256 is { } sha && _goodFiles.Add($"{sha}{FileExtents.Key(node)}"))
                {
                    var hashProblem = await CheckContentAsync(node, path, cancellationToken).ConfigureAwait(false);
                    if (hashProblem is not null)
                    {
                        _goodFiles.Remove($"{sha}{FileExtents.Key(node)}");
                        _problems.Add(new CheckProblem(snapshot.ShortId, path, $"file damaged: {hashProblem}"));
                    }
                }
            }
        }
    }

    private static string? ExtentsProblem(Node file, string path)
    {
        try
        {
            _ = FileExtents.Runs(file, path);
            return null;
        }
        catch (StoreFormatException e)
        {
            return e.Message;
        }
    }

    private string? BlobProblem(BlobId id, Dictionary<string, long> packs) =>
        _bad.TryGetValue(id, out var bad) ? bad : _store.Index.Problem(id, packs);

    private async Task<string?> CheckContentAsync(Node node, string path, CancellationToken cancellationToken)
    {
        try
        {
            // The digest covers the stored data (for a file with holes, its runs concatenated), so the holes
            // are never read; the runs must then add up to exactly what was read.
            var stored = new BlobSequenceStream(_store, node.Content ?? [], node.Sha256, path);
            long storedLength = 0;
            await using (stored.ConfigureAwait(false))
            {
                var buffer = BlobBuffers.Pool.Rent(1 << 20);
                try
                {
                    int read;
                    while ((read = await stored.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        storedLength += read;
                    }
                }
                finally
                {
                    BlobBuffers.Pool.Return(buffer);
                }
            }

            var inRuns = node.Extents is null ? storedLength : FileExtents.Runs(node, path).Sum(r => r.Length);
            return storedLength != inRuns
                ? $"{path}: its content holds {storedLength} bytes where its extents say {inRuns}"
                : null;
        }
        catch (StoreException e)
        {
            return e.Message;
        }
    }
}
