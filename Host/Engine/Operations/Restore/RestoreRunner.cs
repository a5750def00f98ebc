using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Threading.Channels;
using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Repository;

namespace Coffer.Engine.Operations.Restore;

/// <summary>
/// Writes a snapshot (or a part of it) to a destination. The walk creates directories as it meets them (so before
/// the files in them) and links in place, and hands files to a few writers: large files one by one, each fetching
/// its blobs ahead; small files in batches whose blobs are read pack by pack (<see cref="BlobBatch"/>), so a pack
/// is read once per batch rather than once per blob. The walk reads trees a batch of directories at a time
/// (<see cref="CofferStore.WalkAsync(Node, string, Dictionary{string, TreeNode}?, List{ValueTuple{string, string}}?, CancellationToken)"/>).
/// What is at the target already is compared first (<see cref="RestoreOptions.Overwrite"/>), what the snapshot
/// lacks is removed on request. A directory's metadata is set once the walk has left it and everything in it is
/// written (writing into a directory changes its mtime), so the plan holds the directories along the walk's path
/// and those waiting for files in flight, not every directory; with <c>--delete</c>, after the deletions.
/// </summary>
internal sealed class RestoreRunner
{
    internal const int Writers = 4;

    // Files up to this size go in batches; a batch holds at most BatchBytes of content (bounded memory:
    // Writers batches in flight) or BatchFiles files.
    private const long SmallFile = 4 << 20;
    private const long BatchBytes = 16 << 20;

    private readonly CofferStore _store;
    private readonly IDestinationConnector _destination;
    private readonly BackupProgress _progress;
    private readonly RestoreOptions _options;
    private readonly Action<string> _report;

    public RestoreRunner(CofferStore store, IDestinationConnector destination, BackupProgress progress, RestoreOptions? options = null, Action<string>? report = null)
    {
        _store = store;
        _destination = destination;
        _progress = progress;
        _options = options ?? new RestoreOptions();
        _report = report ?? (_ => { });
    }

    /// <summary>How many small files a batch holds at most; with <see cref="Writers"/> batches queued and as many being written, the files in flight.</summary>
    internal int BatchFiles { get; init; } = 512;

    /// <summary>The most restored directories held at once, waiting for their content before their metadata is set: a test's view of the plan's memory bound.</summary>
    internal long PeakOpenDirectories => _openDirectories.Peak;

    private readonly PeakCounter _openDirectories = new();

    /// <summary>The ranged pack reads the last run made for its batches of small files.</summary>
    public int BatchReads { get; private set; }

    /// <summary>Entries of the snapshot the backup could not read (their node's error): nothing is written in their place.</summary>
    public IReadOnlyList<(string Path, string Reason)> NotBackedUp => _notBackedUp;

    /// <summary>Devices the destination could not create (not running as root), with its reason.</summary>
    public IReadOnlyList<(string Path, string Reason)> NotRestored => _notRestored;

    /// <summary>Directories whose tree cannot be read from the store: their content was skipped, the rest restored.</summary>
    public IReadOnlyList<(string Path, string Reason)> Damaged => _damaged;

    private readonly List<(string Path, string Reason)> _notBackedUp = [];
    private readonly List<(string Path, string Reason)> _notRestored = [];
    private readonly List<(string Path, string Reason)> _damaged = [];

    public async Task<RestoreResult> RunAsync(Snapshot snapshot, string path, CancellationToken cancellationToken)
    {
        var top = await _store.ResolveAsync(snapshot, path, cancellationToken).ConfigureAwait(false);
        var content = _destination as IDestinationContent;
        var overwrite = _options.Overwrite ?? (content is null ? OverwritePolicy.Always : OverwritePolicy.IfChanged);
        if (content is null && (overwrite != OverwritePolicy.Always || _options.Delete || _options.Verify))
        {
            throw new RestoreOptionException($"{_destination.Description} cannot be read back, which --overwrite {RestoreOptions.OverwriteWords[(int)overwrite]}, --delete and --verify need: restore with --overwrite always and without --delete or --verify");
        }

        // What is there now, by path; the walk takes out what the snapshot has, so what remains is what it lacks.
        Dictionary<string, TreeEntry>? existing = null;
        if (content is not null && (overwrite != OverwritePolicy.Always || _options.Delete))
        {
            existing = new Dictionary<string, TreeEntry>(StringComparer.Ordinal);
            await foreach (var entry in content.ScanContentAsync(cancellationToken).ConfigureAwait(false))
            {
                if (entry.Error is null)
                {
                    existing[entry.Path] = entry;
                }
            }
        }

        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = failure.Token;
        var work = Channel.CreateBounded<FileJob[]>(new BoundedChannelOptions(Writers) { SingleWriter = true });
        // With --delete, stale entries are removed after every write and that changes their directory's mtime: its
        // metadata waits until then (deepest first), as --delete holds the target's listing anyway.
        var finishLater = _options.Delete ? new List<RestoredDirectory>() : null;
        // Hard links: the first path restored of each file (by FileId), and the later paths, linked once it is written.
        var firstLinked = new Dictionary<string, string>(StringComparer.Ordinal);
        var linked = new List<FileJob>();
        var selection = new RestoreOptions.Selection(_options);
        var mismatches = new ConcurrentQueue<string>();
        long fileCount = 0, bytes = 0, unchanged = 0;
        var batchReads = 0;

        async Task FinishFileAsync(FileJob job, Func<Stream> open)
        {
            if (job.Write)
            {
                var data = FileExtents.Open(job.Node, open(), job.Path);
                await using (data.ConfigureAwait(false))
                {
                    await _destination.WriteFileAsync(job.Node.ToEntry(job.Path) with { HardLinkTarget = job.LinkTo }, data, token).ConfigureAwait(false);
                }

                Interlocked.Increment(ref fileCount);
                Interlocked.Add(ref bytes, job.Node.Size);
                _progress.ReportFile("restored", job.Path);
            }

            if (_options.Verify && !await ReadsBackAsync(content!, job, token).ConfigureAwait(false))
            {
                mismatches.Enqueue(job.Path);
            }

            _progress.AddDone(job.Node.Size, file: true);
            await ReleaseAsync(job.Directory).ConfigureAwait(false);
        }

        // One thing a directory waited for is done; when it was the last, its metadata is set (or left for
        // after --delete) and its own directory has one thing less to wait for.
        async Task ReleaseAsync(RestoredDirectory? directory)
        {
            for (; directory is not null && directory.Release(); directory = directory.Parent)
            {
                if (finishLater is not null)
                {
                    lock (finishLater)
                    {
                        finishLater.Add(directory);
                    }

                    continue;
                }

                await _destination.FinishDirectoryAsync(directory.Node.ToEntry(directory.Path), token).ConfigureAwait(false);
                _openDirectories.Add(-1);
            }
        }

        var writers = Enumerable.Range(0, Writers).Select(_ => Pipeline.Stage(failure, async () =>
        {
            await foreach (var jobs in work.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                if (jobs is [{ Node.Size: > SmallFile } large])
                {
                    await FinishFileAsync(large, () => new BlobSequenceStream(_store, large.Node.Content ?? [], expectedSha256: null, large.Path)).ConfigureAwait(false);
                    continue;
                }

                using var batch = await BlobBatch.ReadAsync(_store, jobs.Where(j => j.Write).SelectMany(j => j.Node.Content ?? []).Select(BlobId.Parse), token).ConfigureAwait(false);
                Interlocked.Add(ref batchReads, batch.Reads);
                await Parallel.ForEachAsync(jobs, new ParallelOptions { MaxDegreeOfParallelism = Writers, CancellationToken = token }, async (job, _) =>
                {
                    await FinishFileAsync(job, () => batch.Open(job.Node.Content ?? [])).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }
        }));

        var walk = Pipeline.Stage(failure, async () =>
        {
            var batch = new List<FileJob>();
            long batchBytes = 0;

            // The restored directories the walk is in (their metadata waits for the walk to leave them and for their files).
            var open = new List<RestoredDirectory>();
            async Task FlushAsync()
            {
                if (batch.Count > 0)
                {
                    await work.Writer.WriteAsync([.. batch], token).ConfigureAwait(false);
                    batch.Clear();
                    batchBytes = 0;
                }
            }

            try
            {
                // A single file restores under its own name; a directory restores its content into the root.
                var rootPath = top.Kind == Node.DirectoryKind ? "" : top.Name;
                if (rootPath.Length > 0 && !Node.IsSafeName(rootPath))
                {
                    throw new StoreFormatException($"snapshot {snapshot.ShortId} names its file {Node.Quote(rootPath)}, which is not a plain name: the store is damaged or was tampered with");
                }

                await foreach (var (entryPath, stored) in _store.WalkAsync(top, rootPath, trees: null, _damaged, token).ConfigureAwait(false))
                {
                    // --numeric-owner: without names, a destination sets owners by number.
                    var node = _options.NumericOwner ? stored with { User = null, Group = null } : stored;
                    while (open.Count > 0 && !IsBelow(entryPath, open[^1].Path))
                    {
                        await ReleaseAsync(open[^1]).ConfigureAwait(false);
                        open.RemoveAt(open.Count - 1);
                    }

                    TreeEntry? there = null;
                    existing?.Remove(entryPath, out there);
                    if (!selection.Selects(entryPath))
                    {
                        continue;
                    }

                    if (node.Error is { } error)
                    {
                        _notBackedUp.Add((entryPath, error));
                        if (node.Kind != Node.DirectoryKind)
                        {
                            // Its content (if any) is not what the source held: an empty or partial file would pass for it.
                            continue;
                        }
                    }

                    switch (node.Kind)
                    {
                        case Node.DirectoryKind:
                            if (!_options.DryRun)
                            {
                                await _destination.CreateDirectoryAsync(node.ToEntry(entryPath), token).ConfigureAwait(false);
                                var inside = open.Count > 0 ? open[^1] : null;
                                inside?.Hold();
                                open.Add(new RestoredDirectory(entryPath, node, inside));
                                _openDirectories.Add(1);
                            }

                            break;
                        case Node.SymlinkKind:
                            if (!ShouldWrite(overwrite, node, there))
                            {
                                Interlocked.Increment(ref unchanged);
                            }
                            else if (_options.DryRun)
                            {
                                _report($"would write {entryPath}");
                            }
                            else
                            {
                                await _destination.CreateSymlinkAsync(node.ToEntry(entryPath), token).ConfigureAwait(false);
                            }

                            break;
                        case Node.FifoKind or Node.SocketKind or Node.CharacterDeviceKind or Node.BlockDeviceKind:
                            if (!ShouldWrite(overwrite, node, there))
                            {
                                Interlocked.Increment(ref unchanged);
                            }
                            else if (_options.DryRun)
                            {
                                _report($"would write {entryPath}");
                            }
                            else
                            {
                                await MakeSpecialAsync(entryPath, node, token).ConfigureAwait(false);
                            }

                            break;
                        default:
                            var job = new FileJob(entryPath, node, ShouldWrite(overwrite, node, there), open.Count > 0 ? open[^1] : null);
                            if (node.Links > 1 && node.FileId is { } fileId && !firstLinked.TryAdd(fileId, entryPath))
                            {
                                // Written after every first path is (writers run in parallel), as a link to it.
                                if (!_options.DryRun)
                                {
                                    _progress.AddPlanned(node.Size);
                                    job.Directory?.Hold();
                                    linked.Add(job with { LinkTo = firstLinked[fileId] });
                                }
                                else if (job.Write)
                                {
                                    _report($"would link {entryPath}");
                                }

                                break;
                            }

                            if (!job.Write)
                            {
                                Interlocked.Increment(ref unchanged);
                                if (!_options.Verify)
                                {
                                    break;
                                }
                            }

                            if (_options.DryRun)
                            {
                                if (job.Write)
                                {
                                    _report($"would write {entryPath}");
                                    Interlocked.Increment(ref fileCount);
                                    Interlocked.Add(ref bytes, node.Size);
                                }

                                break;
                            }

                            _progress.AddPlanned(node.Size);
                            job.Directory?.Hold();
                            if (node.Size > SmallFile)
                            {
                                await work.Writer.WriteAsync([job], token).ConfigureAwait(false);
                                break;
                            }

                            batch.Add(job);
                            batchBytes += node.Size;
                            if (batchBytes >= BatchBytes || batch.Count >= BatchFiles)
                            {
                                await FlushAsync().ConfigureAwait(false);
                            }

                            break;
                    }
                }

                await FlushAsync().ConfigureAwait(false);
                for (var i = open.Count - 1; i >= 0; i--)
                {
                    await ReleaseAsync(open[i]).ConfigureAwait(false);
                }
            }
            finally
            {
                work.Writer.TryComplete();
            }
        });

        await Pipeline.WhenAllAsync([walk, .. writers]).ConfigureAwait(false);
        BatchReads = batchReads;
        foreach (var job in linked)
        {
            if (!job.Write)
            {
                Interlocked.Increment(ref unchanged);
            }

            // A destination that cannot link reads the content, so it gets it (read only if it does).
            await FinishFileAsync(job, () => new BlobSequenceStream(_store, job.Node.Content ?? [], expectedSha256: null, job.Path)).ConfigureAwait(false);
        }

        bool UnderDamaged(string stalePath) => _damaged.Exists(d =>
            d.Path.Length == 0 || stalePath == d.Path || stalePath.StartsWith(d.Path + "/", StringComparison.Ordinal));

        long deleted = 0;
        if (_options.Delete)
        {
            // Deepest first: in ordinal order a directory sorts before everything below it. What lies under a
            // directory the store could not read is unknown, not stale: it stays.
            foreach (var (stalePath, entry) in existing!.Where(e => e.Key.Length > 0 && selection.Selects(e.Key) && !UnderDamaged(e.Key)).OrderByDescending(e => e.Key, StringComparer.Ordinal))
            {
                if (_options.DryRun)
                {
                    _report($"would delete {stalePath}");
                }
                else
                {
                    await content!.DeleteAsync(entry, cancellationToken).ConfigureAwait(false);
                }

                deleted++;
            }
        }

        foreach (var directory in finishLater ?? [])
        {
            await _destination.FinishDirectoryAsync(directory.Node.ToEntry(directory.Path), cancellationToken).ConfigureAwait(false);
            _openDirectories.Add(-1);
        }

        if (!mismatches.IsEmpty)
        {
            var first = mismatches.Order(StringComparer.Ordinal).First();
            throw new RestoreVerificationException($"verify failed: {mismatches.Count} restored files differ from snapshot {snapshot.ShortId} (first: {Node.Quote(first)}): restore again with --overwrite always");
        }

        return new RestoreResult(fileCount, bytes, unchanged, deleted);
    }

    private static bool ShouldWrite(OverwritePolicy policy, Node node, TreeEntry? there) => there is null || policy switch
    {
        OverwritePolicy.Always => true,
        OverwritePolicy.Never => false,
        OverwritePolicy.IfNewer => there.ModifiedTime < node.Mtime,
        _ => there.Kind != node.EntryKind || (node.Kind == Node.SymlinkKind
            ? there.SymlinkTarget != node.Target
            : there.Size != node.Size || there.ModifiedTime != node.Mtime),
    };

    /// <summary>
    /// Reads a restored file back and compares it with the snapshot's SHA-256, or, for a file without one or with
    /// holes (whose digest covers its data runs only), with the digest of its content read from the store.
    /// </summary>
    private async Task<bool> ReadsBackAsync(IDestinationContent content, FileJob job, CancellationToken cancellationToken)
    {
        var expected = job.Node is { Sha256: { } whole, Extents: null } ? whole : await HashAsync(FileExtents.Open(job.Node, new BlobSequenceStream(_store, job.Node.Content ?? [], expectedSha256: null, job.Path), job.Path), cancellationToken).ConfigureAwait(false);
        try
        {
            return await HashAsync(await content.OpenReadAsync(job.Path, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false) == expected;
        }
        catch (Exception e) when (e is NotFoundException or IOException)
        {
            return false;
        }
    }

    private static async Task<string> HashAsync(Stream stream, CancellationToken cancellationToken)
    {
        await using (stream.ConfigureAwait(false))
        {
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>Makes a fifo, socket or device; a device the destination refuses (not root) is reported, not fatal.</summary>
    private async Task MakeSpecialAsync(string path, Node node, CancellationToken cancellationToken)
    {
        try
        {
            await _destination.WriteFileAsync(node.ToEntry(path), Stream.Null, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (node.Kind is Node.CharacterDeviceKind or Node.BlockDeviceKind)
        {
            lock (_notRestored)
            {
                _notRestored.Add((path, e.Message));
            }
        }
    }

    /// <summary>Whether <paramref name="path"/> lies below <paramref name="directory"/> (the root, <c>""</c>, holds everything).</summary>
    private static bool IsBelow(string path, string directory) =>
        directory.Length == 0 || (path.Length > directory.Length && path[directory.Length] == '/' && path.StartsWith(directory, StringComparison.Ordinal));

    // Directory: the nearest restored directory it is in, which waits for it. LinkTo: for a later name of a
    // hard-linked file, the path restored first.
    private sealed record FileJob(string Path, Node Node, bool Write, RestoredDirectory? Directory, string? LinkTo = null);

    /// <summary>A directory restored, whose metadata is set once the walk has left it and everything in it is written.</summary>
    private sealed class RestoredDirectory(string path, Node node, RestoredDirectory? parent)
    {
        // The walk's hold, released when it leaves the directory, plus one for each file and directory in it not done.
        private int _pending = 1;

        public string Path => path;

        public Node Node => node;

        public RestoredDirectory? Parent => parent;

        public void Hold() => Interlocked.Increment(ref _pending);

        /// <summary>Releases one hold; true when it was the last.</summary>
        public bool Release() => Interlocked.Decrement(ref _pending) == 0;
    }
}
