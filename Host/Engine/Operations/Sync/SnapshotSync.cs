using System.Collections.Concurrent;
using System.Security.Cryptography;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Chunking;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Packs;
using Coffer.Plumbing;

namespace Coffer.Engine.Operations.Sync;

/// <summary>A snapshot <c>sync</c> copied: the one it read and the one it wrote into the destination.</summary>
internal sealed record SyncedSnapshot(Snapshot From, Snapshot Copy);

/// <summary>What a sync did.</summary>
/// <param name="Snapshots">The snapshots copied, oldest first.</param>
/// <param name="AdoptedPacks">Packs an interrupted sync or backup left unindexed in the destination that this one indexed and reused.</param>
/// <param name="NewBlobs">Blobs the destination did not hold yet.</param>
/// <param name="NewBytes">Their sealed size.</param>
internal sealed record SyncResult(IReadOnlyList<SyncedSnapshot> Snapshots, int AdoptedPacks, long NewBlobs, long NewBytes);

/// <summary>
/// Copies snapshots from one store into another (restic's <c>copy</c>, Plakar's <c>sync</c>). The stores
/// have different keys, so nothing is copied as stored: each file's content is read back from the source
/// (authenticated and checked against its SHA-256), cut again with the destination's own keyed chunker,
/// named, sealed and packed for the destination, which keeps only the chunks it lacks. Re-chunking makes a
/// copied file the same blobs as a backup of that file into the destination, whatever store it came from
/// (docs/decisions.md). Trees are rewritten bottom-up with the new ids; packs go through the same
/// <see cref="PackUploader"/> as a backup's, so an interrupted sync leaves packs the next run reuses.
/// </summary>
internal sealed class SnapshotSync : IDisposable
{
    private readonly CofferStore _source;
    private readonly CofferStore _destination;
    private readonly BackupProgress _progress;
    private readonly int _workers = Math.Clamp(Environment.ProcessorCount, 2, 8);

    // Shared by every snapshot of one run: a directory or a file content that several snapshots hold is
    // converted once. Lazy, so two snapshots reaching one tree at once still convert it once.
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _trees = new(StringComparer.Ordinal);
    // Keyed by the extents too: one content stored with holes and without has different chunks.
    private readonly ConcurrentDictionary<(string Sha256, long Size, string? Extents), Lazy<Task<IReadOnlyList<string>>>> _contents = new();
    private readonly ConcurrentBag<byte[]> _windows = [];
    private readonly SemaphoreSlim _fileSlots;
    private readonly SemaphoreSlim _treeReads = new(CofferStore.ParallelReads, CofferStore.ParallelReads);

    /// <param name="source">The store to copy from, its index loaded.</param>
    /// <param name="destination">The store to copy into, locked for a backup, its index loaded.</param>
    /// <param name="progress">Counters the caller may display: the bytes of file content converted.</param>
    public SnapshotSync(CofferStore source, CofferStore destination, BackupProgress progress)
    {
        _source = source;
        _destination = destination;
        _progress = progress;
        _fileSlots = new SemaphoreSlim(_workers, _workers);
    }

    public void Dispose()
    {
        _fileSlots.Dispose();
        _treeReads.Dispose();
    }

    /// <summary>
    /// The snapshots of the source to copy: those <paramref name="references"/> name (all when none), that
    /// <paramref name="filter"/> lets through, and that the destination does not hold yet (by <see cref="Snapshot.OriginalId"/>), oldest first.
    /// </summary>
    /// <exception cref="SnapshotNotFoundException">A reference matches no snapshot of the source, or the filter matches none.</exception>
    public static async Task<List<Snapshot>> PlanAsync(CofferStore source, CofferStore destination, IReadOnlyList<string> references, SnapshotFilter filter, CancellationToken cancellationToken)
    {
        var candidates = references.Count > 0
            ? await source.FindSnapshotsAsync(references, cancellationToken).ConfigureAwait(false)
            : [.. await source.ListSnapshotsAsync(cancellationToken).ConfigureAwait(false)];
        var chosen = filter.Select(candidates);

        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var snapshot in await destination.ListSnapshotsAsync(cancellationToken).ConfigureAwait(false))
        {
            held.Add(snapshot.Id);
            held.Add(snapshot.OriginalId);
        }

        return chosen.Where(s => !held.Contains(s.OriginalId)).OrderBy(s => s.Time).ThenBy(s => s.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>Copies <paramref name="snapshots"/> (from <see cref="PlanAsync"/>) one after the other; each snapshot object is written once all its data is indexed.</summary>
    public async Task<SyncResult> RunAsync(IReadOnlyList<Snapshot> snapshots, CancellationToken cancellationToken)
    {
        foreach (var snapshot in snapshots)
        {
            _progress.AddPlanned(snapshot.Summary.Bytes);
        }

        // Packs an interrupted sync (or backup) uploaded but never indexed are reused, not sent again.
        var adoptedPacks = await OrphanPacks.AdoptAsync(_destination, cancellationToken).ConfigureAwait(false);
        var copies = new List<SyncedSnapshot>();
        var (newBlobs, newBytes) = (0L, 0L);

        // Original id → the destination's id, for parents: the copies of earlier snapshots, or ones the destination held.
        var destinationIds = (await _destination.ListSnapshotsAsync(cancellationToken).ConfigureAwait(false))
            .GroupBy(s => s.OriginalId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal);
        var sourceSnapshots = (await _source.ListSnapshotsAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(s => s.Id, StringComparer.Ordinal);
        foreach (var snapshot in snapshots)
        {
            // One uploader per snapshot: completing it indexes everything the snapshot names before the
            // snapshot object is written, so a sync killed at any moment leaves only whole snapshots.
            var root = await UploadAsync(snapshot, cancellationToken).ConfigureAwait(false);
            var parentOriginal = snapshot.Parent is { } parent && sourceSnapshots.TryGetValue(parent, out var parentSnapshot) ? parentSnapshot.OriginalId : snapshot.Parent;
            var copy = snapshot with
            {
                Id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
                Origin = snapshot.OriginalId,
                Parent = parentOriginal is not null && destinationIds.TryGetValue(parentOriginal, out var destinationParent) ? destinationParent : null,
                Root = root.Node,
                Summary = snapshot.Summary with { NewBlobs = root.NewBlobs, NewBytesStored = root.NewBytes },
            };
            await _destination.WriteSnapshotAsync(copy, cancellationToken).ConfigureAwait(false);
            destinationIds[copy.OriginalId] = copy.Id;
            copies.Add(new SyncedSnapshot(snapshot, copy));
            (newBlobs, newBytes) = (newBlobs + root.NewBlobs, newBytes + root.NewBytes);
        }

        return new SyncResult(copies, adoptedPacks, newBlobs, newBytes);
    }

    /// <summary>Converts and uploads one snapshot's trees and content; returns its new root once every pack is uploaded and indexed.</summary>
    private async Task<(Node Node, long NewBlobs, long NewBytes)> UploadAsync(Snapshot snapshot, CancellationToken cancellationToken)
    {
        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var uploader = new PackUploader(_destination, concurrency: 2, failure);
        try
        {
            var root = await ConvertNodeAsync(snapshot.Root, snapshot.Root.Name, uploader, failure.Token).ConfigureAwait(false);
            await uploader.CompleteAsync(failure.Token).ConfigureAwait(false);
            return (root, uploader.NewBlobs, uploader.NewBytes);
        }
        catch
        {
            await failure.CancelAsync().ConfigureAwait(false);
            await uploader.AbandonAsync().ConfigureAwait(false);
            if (uploader.Failure is { } uploadFailure and not OperationCanceledException)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(uploadFailure);
            }

            throw;
        }
    }

    /// <summary>A node with its subtree or content in the destination's ids.</summary>
    private async Task<Node> ConvertNodeAsync(Node node, string path, PackUploader uploader, CancellationToken cancellationToken)
    {
        if (node.Subtree is { } subtree)
        {
            var converted = await _trees.GetOrAdd(subtree, id => new Lazy<Task<string>>(() => ConvertTreeAsync(id, path, uploader, cancellationToken))).Value.ConfigureAwait(false);
            return node with { Subtree = converted };
        }

        if (node.Kind == Node.FileKind && node.Content is { Count: > 0 } content)
        {
            // Files of one content (within and across snapshots) are read and cut once.
            var converted = node.Sha256 is { } sha256
                ? await _contents.GetOrAdd((sha256, node.Size, FileExtents.Key(node)), _ => new Lazy<Task<IReadOnlyList<string>>>(() => ConvertContentAsync(node, path, uploader, cancellationToken))).Value.ConfigureAwait(false)
                : await ConvertContentAsync(node, path, uploader, cancellationToken).ConfigureAwait(false);
            return node with { Content = converted };
        }

        return node;
    }

    private async Task<string> ConvertTreeAsync(string subtree, string path, PackUploader uploader, CancellationToken cancellationToken)
    {
        TreeNode tree;
        await _treeReads.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            tree = await _source.ReadTreeAsync(BlobId.Parse(subtree), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _treeReads.Release();
        }

        // A directory's entries convert in parallel; the file slots bound how many files are read at once.
        var entries = await Task.WhenAll(tree.Entries.Select(entry => Task.Run(() => ConvertNodeAsync(entry, $"{path}/{entry.Name}", uploader, cancellationToken), cancellationToken))).ConfigureAwait(false);
        var json = new TreeNode { Entries = entries }.ToJson();
        var id = _destination.Keys.ComputeId(json);
        if (uploader.TryClaim(id))
        {
            var (buffer, length) = _destination.Codec.Encode(BlobType.Tree, id, json);
            await uploader.AddAsync(BlobType.Tree, id, buffer, length, json.Length, cancellationToken).ConfigureAwait(false);
        }

        return id.ToString();
    }

    /// <summary>Reads a file's content from the source and cuts, names and stores it as the destination's chunks; returns their ids.</summary>
    private async Task<IReadOnlyList<string>> ConvertContentAsync(Node file, string path, PackUploader uploader, CancellationToken cancellationToken)
    {
        await _fileSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        var window = _windows.TryTake(out var reused) ? reused : GC.AllocateUninitializedArray<byte>(ChunkReader.WindowSize(_destination.Chunker));
        try
        {
            var ids = new List<string>();

            // The reader hashes what it reads: the file's SHA-256 proves the copy whole, beyond each blob's own MAC.
            // A file with holes is cut run by run, as backup cuts it, its digest covering the runs only.
            var content = new BlobSequenceStream(_source, file.Content!, expectedSha256: null, path);
            await using (content.ConfigureAwait(false))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                if (file.Extents is null)
                {
                    using var reader = new ChunkReader(_destination.Chunker, content, file.Size, window, hash);
                    await CutAsync(reader).ConfigureAwait(false);
                }
                else
                {
                    foreach (var run in FileExtents.Runs(file, path))
                    {
                        // Not disposed: it would dispose the content stream.
                        using var reader = new ChunkReader(_destination.Chunker, new BoundedStream(content, run.Length), run.Length, window, hash);
                        await CutAsync(reader).ConfigureAwait(false);
                    }
                }

                if (file.Sha256 is not null && Convert.ToHexStringLower(hash.GetHashAndReset()) != file.Sha256)
                {
                    throw new StoreFormatException($"{path}: content does not match its recorded SHA-256");
                }
            }

            async Task CutAsync(ChunkReader reader)
            {
                while (await reader.NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
                {
                    var id = _destination.Keys.ComputeId(chunk.Buffer.AsSpan(0, chunk.Length));
                    ids.Add(id.ToString());
                    _progress.AddDone(chunk.Length, file: false);
                    if (uploader.TryClaim(id))
                    {
                        (byte[] Buffer, int Length) sealedBlob;
                        try
                        {
                            sealedBlob = _destination.Codec.Encode(BlobType.Data, id, chunk.Buffer.AsSpan(0, chunk.Length));
                        }
                        finally
                        {
                            BlobBuffers.Pool.Return(chunk.Buffer);
                        }

                        await uploader.AddAsync(BlobType.Data, id, sealedBlob.Buffer, sealedBlob.Length, chunk.Length, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        BlobBuffers.Pool.Return(chunk.Buffer);
                    }
                }
            }

            _progress.AddDone(0, file: true);
            return ids;
        }
        finally
        {
            _windows.Add(window);
            _fileSlots.Release();
        }
    }
}
