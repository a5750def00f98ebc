using System.Threading.Channels;
using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Chunking;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Packs;

namespace Coffer.Engine.Operations.Backup;

/// <summary>What a backup is asked to do.</summary>
/// <param name="Source">The source as the user named it, resolved (a snapshot's parent is the latest one of the same source and host).</param>
/// <param name="Tags">Tags for the snapshot.</param>
/// <param name="Excludes">Glob patterns of paths to leave out.</param>
internal sealed record BackupRequest(string Source, IReadOnlyList<string> Tags, IReadOnlyList<string> Excludes)
{
    /// <summary>Exclude globs that ignore case (<c>--iexclude</c>).</summary>
    public IReadOnlyList<string> CaseInsensitiveExcludes { get; init; } = [];

    /// <summary>Tag files (<c>--exclude-if-present NAME[:HEADER]</c>): a directory holding one keeps only the tag file.</summary>
    public IReadOnlyList<TagFile> ExcludeIfPresent { get; init; } = [];

    /// <summary>Files larger than this many bytes are left out; null: no limit.</summary>
    public long? ExcludeLargerThan { get; init; }

    /// <summary>Paths or globs relative to the source root to back up (<c>--files-from</c>); null: everything.</summary>
    public IReadOnlyList<IncludedPath>? Includes { get; init; }

    /// <summary>The snapshot's time (<c>--time</c>); null: now.</summary>
    public DateTimeOffset? Time { get; init; }

    /// <summary>Read and count, store nothing: no pack, tree, index or snapshot is written.</summary>
    public bool DryRun { get; init; }
}

/// <summary>A tag file naming a directory whose content is not backed up (restic's <c>--exclude-if-present</c>).</summary>
/// <param name="Name">The tag file's name.</param>
/// <param name="Header">What its content must start with; null: any content.</param>
internal sealed record TagFile(string Name, string? Header)
{
    /// <summary>The Cache Directory Tagging Specification's tag (<c>--exclude-caches</c>).</summary>
    public static TagFile Caches { get; } = new("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55");

    /// <summary>Parses <c>NAME[:HEADER]</c>.</summary>
    public static TagFile Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? new TagFile(text, null) : new TagFile(text[..colon], text[(colon + 1)..]);
    }
}

/// <summary>What a backup did.</summary>
/// <param name="Snapshot">The snapshot written.</param>
/// <param name="Warnings">Lines about entries that could not be read (the snapshot still holds everything else).</param>
/// <param name="AdoptedPacks">Packs an interrupted backup left unindexed that this one indexed and reused.</param>
internal sealed record BackupResult(Snapshot Snapshot, IReadOnlyList<string> Warnings, int AdoptedPacks)
{
    /// <summary>With <see cref="BackupRequest.DryRun"/>: the files that would be read (new or changed); the snapshot was not written and its <c>NewBytesStored</c> counts new data before compression.</summary>
    public IReadOnlyList<string>? WouldRead { get; init; }
}

/// <summary>
/// One backup as a pipeline: the scan feeds files to readers (which chunk, hash the whole file and name
/// each chunk), new chunks go through a bounded channel to encoders (compress, seal), sealed blobs are
/// packed and uploaded in the background; a directory's tree is written as soon as everything in it is
/// done (restic's archiver does the same), then the index, the snapshot. Every stage is bounded and the
/// parent snapshot's trees are read per directory as the scan reaches it, so memory follows the work in
/// flight (the open path, the files queued), not the size of the tree (docs/decisions.md).
/// </summary>
internal sealed partial class BackupRunner
{
    internal const int Readers = 2;

    // How many trees of the parent snapshot each open directory reads ahead of the scan (its next subdirectories'):
    // read one by one as the scan met them, they were a third of an unchanged re-backup's time.
    internal const int ReadAheadTrees = CofferStore.ParallelReads;

    private readonly CofferStore _store;
    private readonly ISourceConnector _source;
    private readonly BackupRequest _request;
    private readonly TimeProvider _time;
    private readonly string _hostName;
    private readonly BackupProgress _progress;
    private readonly ExcludeMatcher _excludes;
    private readonly List<string> _warnings = [];
    private readonly List<string> _wouldRead = [];
    private long _wouldAdd;
    private long _bytesRead;
    private int _reusedTrees;

    // Directories whose content is all done, for the tree writer.
    private readonly Channel<DirectoryState> _finished = Channel.CreateUnbounded<DirectoryState>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SummaryCounts _counts = new();
    private readonly PeakCounter _live = new();
    private readonly PeakCounter _parentTrees = new();

    /// <param name="store">The store, locked for a backup, its index loaded.</param>
    /// <param name="source">What to back up.</param>
    /// <param name="request">The source's name, tags and excludes.</param>
    /// <param name="time">The clock the snapshot's time and duration come from.</param>
    /// <param name="hostName">The host the snapshot is recorded for; its parent is the latest snapshot of the same source and host.</param>
    /// <param name="progress">Counters the caller may display while the backup runs.</param>
    public BackupRunner(CofferStore store, ISourceConnector source, BackupRequest request, TimeProvider time, string hostName, BackupProgress progress)
    {
        _store = store;
        _source = source;
        _request = request;
        _time = time;
        _hostName = hostName;
        _progress = progress;
        _excludes = new ExcludeMatcher(request.Excludes, request.CaseInsensitiveExcludes, request.ExcludeLargerThan, request.Includes);
    }

    /// <summary>How many files the scan queues for the readers at most (the files in flight, with the readers' own).</summary>
    internal int QueuedFiles { get; init; } = 256;

    /// <summary>The source's scan, started before the store was opened; null: the backup scans the source itself.</summary>
    public SourcePrescan? Prescan { get; init; }

    /// <summary>The most entry states (directories, files, links) the run held at once: a test's view of its memory bound.</summary>
    internal long PeakLiveEntries => _live.Peak;

    /// <summary>The most trees of the parent snapshot the run held at once (read or being read).</summary>
    internal long PeakParentTrees => _parentTrees.Peak;

    /// <summary>How many directories kept their parent snapshot's tree blob (nothing in them changed).</summary>
    internal int ReusedTrees => _reusedTrees;

    public async Task<BackupResult> RunAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();

        // Packs an interrupted backup uploaded but never indexed are reused, not sent again.
        var adoptedPacks = _request.DryRun ? 0 : await OrphanPacks.AdoptAsync(_store, cancellationToken).ConfigureAwait(false);
        var parent = await FindParentAsync(cancellationToken).ConfigureAwait(false);

        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = failure.Token;
        var encoders = Math.Max(1, Environment.ProcessorCount);
        using var uploader = new PackUploader(_store, concurrency: 2, failure);
        var files = Channel.CreateBounded<FileState>(new BoundedChannelOptions(QueuedFiles) { SingleWriter = true });
        var chunks = Channel.CreateBounded<ChunkWork>(new BoundedChannelOptions(encoders) { SingleReader = false });
        DirectoryState? root = null;

        // Directories the scan has left whose trees are not written yet (waiting for files in flight or for the
        // tree writer): the scan waits when there are as many as files in flight, so the writer cannot fall behind.
        using var closed = new SemaphoreSlim(QueuedFiles + Readers);

        var scan = Pipeline.Stage(failure, async () =>
        {
            try
            {
                root = await ScanAsync(parent?.Root, files.Writer, closed, token).ConfigureAwait(false);
            }
            finally
            {
                files.Writer.TryComplete();
            }
        });
        var readers = Pipeline.Stage(failure, async () =>
        {
            try
            {
                await Task.WhenAll(Enumerable.Range(0, Readers).Select(_ => ReadFilesAsync(files.Reader, chunks.Writer, uploader, token))).ConfigureAwait(false);
            }
            finally
            {
                chunks.Writer.TryComplete();
            }
        });
        var encoding = Pipeline.Stage(failure, () => Task.WhenAll(Enumerable.Range(0, encoders).Select(_ => EncodeChunksAsync(chunks.Reader, uploader, token))));
        var trees = Pipeline.Stage(failure, () => WriteTreesAsync(uploader, closed, token));

        try
        {
            await Pipeline.WhenAllAsync(scan, readers, encoding, trees).ConfigureAwait(false);
            if (_request.DryRun)
            {
                await uploader.AbandonAsync().ConfigureAwait(false);
            }
            else
            {
                await uploader.CompleteAsync(token).ConfigureAwait(false);
            }

            var snapshot = new Snapshot
            {
                Id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
                Time = _request.Time ?? _time.GetUtcNow(),
                Hostname = _hostName,
                Username = Environment.UserName,
                Source = _request.Source,
                Tags = _request.Tags,
                Parent = parent?.Id,
                Root = root!.ToNode(),
                Summary = new SnapshotSummary
                {
                    Files = _counts.Files,
                    Directories = _counts.Directories,
                    Symlinks = _counts.Symlinks,
                    Bytes = _counts.Bytes,
                    BytesRead = Interlocked.Read(ref _bytesRead),
                    Errors = _warnings.Count,
                    FilesUnchanged = _counts.FilesUnchanged,
                    NewBlobs = uploader.NewBlobs,
                    NewBytesStored = _request.DryRun ? Interlocked.Read(ref _wouldAdd) : uploader.NewBytes,
                    Seconds = _time.GetElapsedTime(started).TotalSeconds,
                },
            };
            if (_request.DryRun)
            {
                return new BackupResult(snapshot, _warnings.ToList(), adoptedPacks) { WouldRead = _wouldRead };
            }

            await _store.WriteSnapshotAsync(snapshot, token).ConfigureAwait(false);
            return new BackupResult(snapshot, _warnings.ToList(), adoptedPacks);
        }
        catch
        {
            await failure.CancelAsync().ConfigureAwait(false);
            await uploader.AbandonAsync().ConfigureAwait(false);
            while (chunks.Reader.TryRead(out var left))
            {
                BlobBuffers.Pool.Return(left.Buffer);
            }

            if (uploader.Failure is { } uploadFailure and not OperationCanceledException)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(uploadFailure);
            }

            throw;
        }
    }

    private async Task<Snapshot?> FindParentAsync(CancellationToken cancellationToken)
    {
        var snapshots = await _store.ListSnapshotsAsync(cancellationToken).ConfigureAwait(false);
        return snapshots.LastOrDefault(s => s.Source == _request.Source && s.Hostname == _hostName);
    }

    /// <summary>
    /// Walks the source, hands new and changed files to the readers and closes each directory when the scan leaves
    /// it (the source lists a directory's content right after it, depth first). A directory whose tree is written
    /// drops its children's states, so what is held is the directories along the open path and those waiting for
    /// files in flight, not the whole tree.
    /// </summary>
    /// <returns>The root's state; its tree is written once everything below it is.</returns>
    private async Task<DirectoryState> ScanAsync(Node? parentRoot, ChannelWriter<FileState> files, SemaphoreSlim closed, CancellationToken cancellationToken)
    {
        // The directories the scan is in, root first; a skipped one (State null) stays while the scan is inside
        // it, so that what is below it is skipped without a word.
        var open = new List<(string Path, DirectoryState? State)>();
        DirectoryState? root = null;
        Task<TreeNode?> ReadParentTree(string subtree) => ReadParentTreeAsync(subtree, cancellationToken);
        await foreach (var entry in (Prescan?.ReadAllAsync(cancellationToken) ?? _source.ScanAsync(cancellationToken)).ConfigureAwait(false))
        {
            if (entry.Path.Length == 0)
            {
                if (entry.Kind != EntryKind.Directory)
                {
                    throw new StoreException($"the source's root {_source.Description} is not a directory");
                }

                if (root is not null)
                {
                    Warn(entry.Path, "not backed up: not a plain name below its directory, or listed twice");
                    continue;
                }

                root = new DirectoryState(entry, "", parent: null) { Listed = !_excludes.HasIncludes, TaggedBy = await FindTagFileAsync("", cancellationToken).ConfigureAwait(false) };
                _live.Add(1);
                Interlocked.Increment(ref _counts.Directories);
                await OpenPreviousAsync(root, parentRoot?.Subtree, parentRoot?.Subtree is { } rootTree ? ReadParentTree(rootTree) : null, ReadParentTree).ConfigureAwait(false);
                open.Add(("", root));
                continue;
            }

            var slash = entry.Path.LastIndexOf('/');
            var parentPath = slash < 0 ? "" : entry.Path[..slash];
            while (open.Count > 1 && !IsAtOrBelow(parentPath, open[^1].Path))
            {
                await CloseAsync(open[^1].State, closed, cancellationToken).ConfigureAwait(false);
                open.RemoveAt(open.Count - 1);
            }

            var skipsDirectory = entry.Kind == EntryKind.Directory;
            if (open.Count == 0 || open[^1].State is not { } parent || open[^1].Path != parentPath)
            {
                if (open.Count > 0 && open[^1].State is not null)
                {
                    // Its directory was closed (its tree may be written) or never listed: a source out of order.
                    Warn(entry.Path, "not backed up: the source listed it apart from its directory (a source lists a directory's content right after it)");
                }

                if (skipsDirectory)
                {
                    open.Add((entry.Path, null));
                }

                continue;
            }

            var name = entry.Path[(slash + 1)..];
            var inclusion = parent.Listed ? Inclusion.Listed : _excludes.Includes(entry.Path, entry.Kind == EntryKind.Directory);
            if (_excludes.Excludes(entry) || inclusion == Inclusion.None || (parent.TaggedBy is { } tag && (name != tag || entry.Kind != EntryKind.File)))
            {
                if (skipsDirectory)
                {
                    open.Add((entry.Path, null));
                }

                continue;
            }

            if (!Node.IsSafeName(name) || !parent.ChildNames!.Add(name))
            {
                // A source (perhaps a third-party one) must not smuggle a path that escapes a restore into a tree.
                Warn(entry.Path, "not backed up: not a plain name below its directory, or listed twice");
                if (skipsDirectory)
                {
                    open.Add((entry.Path, null));
                }

                continue;
            }

            if (entry.Error is not null)
            {
                Warn(entry.Path, entry.Error);
            }

            _live.Add(1);
            switch (entry.Kind)
            {
                case EntryKind.Directory:
                    var directory = new DirectoryState(entry, name, parent) { Listed = inclusion == Inclusion.Listed, TaggedBy = await FindTagFileAsync(entry.Path, cancellationToken).ConfigureAwait(false) };
                    Interlocked.Increment(ref _counts.Directories);
                    parent.Add(directory, pending: true);
                    var previousTree = parent.TakePreviousTree(name, ReadParentTree, out var passed);
                    _parentTrees.Add(-passed);
                    await OpenPreviousAsync(directory, parent.Previous?.GetValueOrDefault(name)?.Subtree, previousTree, ReadParentTree).ConfigureAwait(false);
                    open.Add((entry.Path, directory));
                    break;
                case EntryKind.File:
                    var file = new FileState(entry, name, parent);
                    Interlocked.Increment(ref _counts.Files);
                    Interlocked.Add(ref _counts.Bytes, entry.Size);
                    _progress.AddPlanned(entry.Size);
                    var before = parent.Previous?.GetValueOrDefault(name);
                    if (before is { Kind: Node.FileKind, Error: null, Content: not null } && IsUnchanged(before, entry))
                    {
                        parent.Add(file, pending: false);
                        file.Reuse(before);
                        Interlocked.Increment(ref _counts.FilesUnchanged);
                        _progress.AddDone(entry.Size, file: true);
                    }
                    else if (entry.Error is null)
                    {
                        _progress.ReportFile(before is null ? "new" : "modified", entry.Path);
                        if (_request.DryRun)
                        {
                            _wouldRead.Add(entry.Path);
                        }

                        // The directory waits for the file: its tree is written once the file is read.
                        parent.Add(file, pending: true);
                        await files.WriteAsync(file, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        parent.Add(file, pending: false);
                    }

                    break;
                default:
                    if (entry.Kind == EntryKind.Symlink)
                    {
                        Interlocked.Increment(ref _counts.Symlinks);
                    }

                    parent.Add(new LeafState(entry, name), pending: false);
                    break;
            }
        }

        if (root is null)
        {
            throw new StoreException($"the source {_source.Description} yielded nothing");
        }

        for (var i = open.Count - 1; i >= 0; i--)
        {
            await CloseAsync(open[i].State, closed, cancellationToken).ConfigureAwait(false);
        }

        return root;
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="directory"/> or lies below it.</summary>
    private static bool IsAtOrBelow(string path, string directory) =>
        directory.Length == 0 || (path.StartsWith(directory, StringComparison.Ordinal) && (path.Length == directory.Length || path[directory.Length] == '/'));

    /// <summary>The scan left <paramref name="directory"/>: nothing more is added to it, and what it read of the parent snapshot goes.</summary>
    private async Task CloseAsync(DirectoryState? directory, SemaphoreSlim closed, CancellationToken cancellationToken)
    {
        if (directory is null)
        {
            return;
        }

        await closed.WaitAsync(cancellationToken).ConfigureAwait(false);
        _parentTrees.Add(-directory.ClosePrevious());
        directory.Release(_finished.Writer);
    }

    private void Warn(string path, string reason)
    {
        lock (_warnings)
        {
            _warnings.Add($"{Node.Quote(path)}: {reason}");
        }
    }

    /// <summary>
    /// Gives <paramref name="directory"/> the parent snapshot's tree of its path (blob <paramref name="subtree"/>, being
    /// read by <paramref name="read"/>), so its unchanged files are not read again and an unchanged tree is not written again.
    /// </summary>
    private static async Task OpenPreviousAsync(DirectoryState directory, string? subtree, Task<TreeNode?>? read, Func<string, Task<TreeNode?>> readParentTree)
    {
        if (read is not null)
        {
            directory.HoldPrevious(subtree, await read.ConfigureAwait(false), readParentTree);
        }
    }

    /// <summary>Reads a tree of the parent snapshot; a damaged one only costs speed (its files are read again).</summary>
    private Task<TreeNode?> ReadParentTreeAsync(string subtree, CancellationToken cancellationToken)
    {
        _parentTrees.Add(1);
        return ReadAsync();

        async Task<TreeNode?> ReadAsync()
        {
            try
            {
                return await _store.ReadTreeAsync(BlobId.Parse(subtree), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is StoreException or FormatException)
            {
                return null;
            }
        }
    }

    /// <summary>The name of the first <c>--exclude-if-present</c> tag file the directory holds, or null.</summary>
    private async Task<string?> FindTagFileAsync(string directory, CancellationToken cancellationToken)
    {
        foreach (var tag in _request.ExcludeIfPresent)
        {
            try
            {
                var stream = await _source.OpenReadAsync(directory.Length == 0 ? tag.Name : $"{directory}/{tag.Name}", cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    if (tag.Header is null)
                    {
                        return tag.Name;
                    }

                    var expected = System.Text.Encoding.UTF8.GetBytes(tag.Header);
                    var header = new byte[expected.Length];
                    var read = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                    if (read == header.Length && header.AsSpan().SequenceEqual(expected))
                    {
                        return tag.Name;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotFoundException or PathEscapesRootException)
            {
                // No such file (or not a readable one): the directory is not tagged by it.
            }
        }

        return null;
    }

    private static bool IsUnchanged(Node before, TreeEntry entry) =>
        entry.Error is null && before.Size == entry.Size && before.Mtime == entry.ModifiedTime
        && before.FileId == entry.FileId && before.Mode == (entry.Mode is { } m ? (int)m : null);

    private async Task ReadFilesAsync(ChannelReader<FileState> files, ChannelWriter<ChunkWork> chunks, PackUploader uploader, CancellationToken cancellationToken)
    {
        // One window per reader for all its files, not one rented per file: windows sized to each file spread
        // over every pool size class, and the pool kept each class's high-water mark (docs/decisions.md).
        // Uninitialized, so a reader that only meets small files never touches most of it.
        var window = GC.AllocateUninitializedArray<byte>(ChunkReader.WindowSize(_store.Chunker));
        await foreach (var file in files.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                var stream = await _source.OpenReadAsync(file.Entry.Path, cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    if (stream is ISparseContent sparse && FileExtents.PlanReads(sparse.DataRuns, sparse.ContentLength) is { } runs)
                    {
                        await ReadSparseFileAsync(file, stream, sparse, runs, window, chunks, uploader, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        using var reader = new ChunkReader(_store.Chunker, stream, file.Entry.Size, window);
                        await AddChunksAsync(file, reader, chunks, uploader, cancellationToken).ConfigureAwait(false);
                        file.Complete(reader.ContentHash(), reader.BytesRead);
                        Interlocked.Add(ref _bytesRead, reader.BytesRead);
                    }

                    _progress.AddDone(0, file: true);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotFoundException or PathEscapesRootException)
            {
                // The file vanished or cannot be read: record that and go on, as the source does for scan errors.
                var line = e.Message.Split('\n', 2)[0];
                file.Fail(line);
                Warn(file.Entry.Path, line);
            }

            file.Parent.Release(_finished.Writer);
        }
    }

    /// <summary>Names each chunk <paramref name="reader"/> cuts, adds it to the file's content, and queues the new ones for the store.</summary>
    private async Task AddChunksAsync(FileState file, ChunkReader reader, ChannelWriter<ChunkWork> chunks, PackUploader uploader, CancellationToken cancellationToken)
    {
        while (await reader.NextAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            var id = _store.Keys.ComputeId(chunk.Buffer.AsSpan(0, chunk.Length));
            file.Content.Add(id);
            _progress.AddDone(chunk.Length, file: false);
            if (_request.DryRun)
            {
                if (uploader.TryClaim(id))
                {
                    Interlocked.Add(ref _wouldAdd, chunk.Length);
                }

                BlobBuffers.Pool.Return(chunk.Buffer);
            }
            else if (uploader.TryClaim(id))
            {
                await chunks.WriteAsync(new ChunkWork(id, chunk.Buffer, chunk.Length), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                BlobBuffers.Pool.Return(chunk.Buffer);
            }
        }
    }

    private async Task EncodeChunksAsync(ChannelReader<ChunkWork> chunks, PackUploader uploader, CancellationToken cancellationToken)
    {
        await foreach (var chunk in chunks.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            (byte[] Buffer, int Length) sealedBlob;
            try
            {
                sealedBlob = _store.Codec.Encode(BlobType.Data, chunk.Id, chunk.Buffer.AsSpan(0, chunk.Length));
            }
            finally
            {
                BlobBuffers.Pool.Return(chunk.Buffer);
            }

            await uploader.AddAsync(BlobType.Data, chunk.Id, sealedBlob.Buffer, sealedBlob.Length, chunk.Length, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes each directory's tree as soon as everything in it is done (its files read, its subdirectories'
    /// trees written), then drops its children's states; the root comes last.
    /// </summary>
    private async Task WriteTreesAsync(PackUploader uploader, SemaphoreSlim closed, CancellationToken cancellationToken)
    {
        await foreach (var directory in _finished.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var children = directory.Children;
            var held = children.Count;
            children.RemoveAll(c => c is DirectoryState { Pruned: true });
            if (directory.Parent is not null && !directory.Listed && children.Count == 0)
            {
                // Only on the way to a --files-from glob that matched nothing below it.
                directory.Pruned = true;
                Interlocked.Decrement(ref _counts.Directories);
            }
            else if (!_request.DryRun)
            {
                var entries = children.Select(c => c.ToNode()).OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
                if (directory.UnchangedSubtree(entries, _store.Index) is { } unchanged)
                {
                    directory.Subtree = unchanged;
                    _reusedTrees++;
                }
                else
                {
                    directory.Subtree = (await uploader.AddTreeAsync(new TreeNode { Entries = entries }, cancellationToken).ConfigureAwait(false)).ToString();
                }
            }

            directory.DropChildren();
            _live.Add(-held);
            closed.Release();
            if (directory.Parent is { } parent)
            {
                parent.Release(_finished.Writer);
            }
            else
            {
                _finished.Writer.TryComplete();
            }
        }
    }

    private readonly record struct ChunkWork(BlobId Id, byte[] Buffer, int Length);

    private abstract class EntryState(TreeEntry entry, string name)
    {
        public TreeEntry Entry { get; } = entry;

        public string Name { get; } = name;

        public EntryKind Kind => Entry.Kind;

        public virtual Node ToNode() => Node.From(Entry, Name);
    }

    private sealed class LeafState(TreeEntry entry, string name) : EntryState(entry, name);

    private sealed class DirectoryState(TreeEntry entry, string name, DirectoryState? parent) : EntryState(entry, name)
    {
        // The scan's hold, released when it leaves the directory, plus one for each child it waits for.
        private int _pending = 1;
        private List<EntryState>? _children = [];

        // The parent snapshot's directory of this path, while the scan is in it: its entries by name, its
        // subdirectories in tree order, and the trees of the next few of them being read ahead of the scan.
        private Dictionary<string, Node>? _previous;
        private List<Node>? _previousDirectories;
        private Dictionary<string, Task<TreeNode?>>? _readAhead;
        private int _nextReadAhead;
        private string _passed = "";
        private int _heldReads;

        // The parent snapshot's tree of this path, kept from the scan to the tree writer: when the new entries say
        // the same, its blob is the new tree too, and nothing is encoded, hashed or looked up again.
        private string? _previousSubtree;
        private IReadOnlyList<Node>? _previousEntries;

        public DirectoryState? Parent => parent;

        /// <summary>The entries in it, until its tree is written.</summary>
        public List<EntryState> Children => _children ?? throw new InvalidOperationException("the directory's tree is written");

        /// <summary>The names taken so far, while the scan is in it.</summary>
        public HashSet<string>? ChildNames { get; private set; } = new(StringComparer.Ordinal);

        /// <summary>The parent snapshot's entries of this directory by name, while the scan is in it; null: none.</summary>
        public IReadOnlyDictionary<string, Node>? Previous => _previous;

        public string? Subtree { get; set; }

        /// <summary>Kept with everything below it (no <c>--files-from</c>, or listed); false: only on the way to a listed path.</summary>
        public bool Listed { get; init; }

        /// <summary>The <c>--exclude-if-present</c> tag file it holds: only that file is kept.</summary>
        public string? TaggedBy { get; init; }

        public bool Pruned { get; set; }

        public void Add(EntryState child, bool pending)
        {
            if (pending)
            {
                Interlocked.Increment(ref _pending);
            }

            Children.Add(child);
        }

        /// <summary>One thing it waited for is done; when the last is, it goes to the tree writer.</summary>
        public void Release(ChannelWriter<DirectoryState> finished)
        {
            if (Interlocked.Decrement(ref _pending) == 0)
            {
                finished.TryWrite(this);
            }
        }

        public void DropChildren()
        {
            _children = null;
            _previousEntries = null;
        }

        /// <summary>The parent snapshot's tree blob of this path when <paramref name="entries"/> (sorted by name) say what it says; else null.</summary>
        public string? UnchangedSubtree(List<Node> entries, Repository.Packs.StoreIndex index)
        {
            if (_previousSubtree is null || _previousEntries is not { } previous || previous.Count != entries.Count)
            {
                return null;
            }

            for (var i = 0; i < entries.Count; i++)
            {
                if (!entries[i].SameAs(previous[i]))
                {
                    return null;
                }
            }

            // It was read through the index; a store whose index lost it since gets the tree written again.
            return index.Contains(BlobId.Parse(_previousSubtree)) ? _previousSubtree : null;
        }

        /// <summary>Holds the parent snapshot's tree of this path (null: it could not be read) and reads ahead the first subdirectories' trees.</summary>
        public void HoldPrevious(string? subtree, TreeNode? tree, Func<string, Task<TreeNode?>> read)
        {
            _heldReads = 1;
            if (tree is not null)
            {
                _previousSubtree = subtree;
                _previousEntries = tree.Entries;
                _previous = tree.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
                _previousDirectories = tree.Entries.Where(e => e is { Kind: Node.DirectoryKind, Subtree: not null }).ToList();
                _readAhead = new(StringComparer.Ordinal);
                ReadAhead(read);
            }
        }

        /// <summary>
        /// The read of the parent snapshot's tree of subdirectory <paramref name="name"/> (started ahead, or now), or
        /// null when the parent snapshot has no such directory; <paramref name="passed"/>: how many trees read ahead
        /// were dropped because the scan passed their directories (a source lists siblings in name order).
        /// </summary>
        public Task<TreeNode?>? TakePreviousTree(string name, Func<string, Task<TreeNode?>> read, out int passed)
        {
            passed = 0;
            if (_readAhead is null)
            {
                return null;
            }

            foreach (var behind in _readAhead.Keys.Where(k => string.CompareOrdinal(k, name) < 0).ToList())
            {
                _readAhead.Remove(behind);
                passed++;
            }

            if (string.CompareOrdinal(name, _passed) > 0)
            {
                _passed = name;
            }

            if (!_readAhead.Remove(name, out var started) && _previous!.GetValueOrDefault(name) is { Kind: Node.DirectoryKind, Subtree: { } subtree })
            {
                started = read(subtree);
            }

            ReadAhead(read);
            return started;
        }

        /// <summary>The scan left it: drops what it held of the parent snapshot, and returns how many trees that was.</summary>
        public int ClosePrevious()
        {
            var released = _heldReads + (_readAhead?.Count ?? 0);
            _previous = null;
            _previousDirectories = null;
            _readAhead = null;
            ChildNames = null;
            return released;
        }

        public override Node ToNode() => base.ToNode() with { Subtree = Subtree };

        private void ReadAhead(Func<string, Task<TreeNode?>> read)
        {
            while (_readAhead!.Count < ReadAheadTrees && _nextReadAhead < _previousDirectories!.Count)
            {
                var next = _previousDirectories[_nextReadAhead++];
                if (string.CompareOrdinal(next.Name, _passed) > 0)
                {
                    _readAhead[next.Name] = read(next.Subtree!);
                }
            }
        }
    }

    /// <summary>The summary's counters, counted as the scan goes.</summary>
    private sealed class SummaryCounts
    {
        public int Files;
        public int Directories;
        public int Symlinks;
        public long Bytes;
        public int FilesUnchanged;
    }

    private sealed class FileState(TreeEntry entry, string name, DirectoryState parent) : EntryState(entry, name)
    {
        private string? _sha256;
        private string? _error;
        private long? _size;
        private IReadOnlyList<string>? _reused;
        private IReadOnlyList<long[]>? _extents;

        /// <summary>The directory waiting for it.</summary>
        public DirectoryState Parent => parent;

        public List<BlobId> Content { get; } = [];

        public bool Unchanged => _reused is not null;

        public void Reuse(Node before)
        {
            _reused = before.Content;
            _sha256 = before.Sha256;
            _extents = before.Extents;
        }

        /// <param name="sha256">The whole content's digest (holes as zeros).</param>
        /// <param name="size">The content's length, holes included.</param>
        /// <param name="extents">The data runs of a file read with holes; null: read whole.</param>
        public void Complete(byte[] sha256, long size, IReadOnlyList<long[]>? extents = null)
        {
            _sha256 = Convert.ToHexStringLower(sha256);
            _size = size;
            _extents = extents;
        }

        public void Fail(string error) => _error = error;

        public override Node ToNode()
        {
            var node = base.ToNode();
            if (_error is not null || (Entry.Error is not null && _reused is null && _sha256 is null))
            {
                return node with { Error = _error ?? Entry.Error, Size = 0, Content = [] };
            }

            // The size is what was read: a file that grew or shrank during the scan is stored as read.
            return node with
            {
                Size = _size ?? node.Size,
                Content = _reused ?? Content.Select(id => id.ToString()).ToList(),
                Extents = _extents,
                Sha256 = _sha256,
            };
        }
    }
}
