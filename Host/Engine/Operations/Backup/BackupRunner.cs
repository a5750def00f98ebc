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
/// packed and uploaded in the background; then trees are written bottom-up, the index, the snapshot.
/// Every stage is bounded, so memory does not grow with file or tree size beyond the tree's metadata.
/// </summary>
internal sealed partial class BackupRunner
{
    private const int Readers = 2;

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

    public async Task<BackupResult> RunAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();

        // Packs an interrupted backup uploaded but never indexed are reused, not sent again.
        var adoptedPacks = _request.DryRun ? 0 : await OrphanPacks.AdoptAsync(_store, cancellationToken).ConfigureAwait(false);
        var parent = await FindParentAsync(cancellationToken).ConfigureAwait(false);
        var previous = parent is null ? new Dictionary<string, Node>(StringComparer.Ordinal) : await LoadFilesAsync(parent, cancellationToken).ConfigureAwait(false);

        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = failure.Token;
        var encoders = Math.Max(1, Environment.ProcessorCount);
        using var uploader = new PackUploader(_store, concurrency: 2, failure);
        var files = Channel.CreateBounded<FileState>(new BoundedChannelOptions(256) { SingleWriter = true });
        var chunks = Channel.CreateBounded<ChunkWork>(new BoundedChannelOptions(encoders) { SingleReader = false });
        var directories = new List<DirectoryState>();

        var scan = Pipeline.Stage(failure, async () =>
        {
            try
            {
                await ScanAsync(directories, previous, files.Writer, token).ConfigureAwait(false);
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

        try
        {
            await Pipeline.WhenAllAsync(scan, readers, encoding).ConfigureAwait(false);
            var all = directories.SelectMany(d => d.Children).ToList();
            var root = _request.DryRun ? directories[0].ToNode() : await WriteTreesAsync(directories, uploader, token).ConfigureAwait(false);
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
                Root = root,
                Summary = new SnapshotSummary
                {
                    Files = all.Count(c => c.Kind == EntryKind.File),
                    Directories = directories.Count(d => !d.Pruned),
                    Symlinks = all.Count(c => c.Kind == EntryKind.Symlink),
                    Bytes = all.OfType<FileState>().Sum(f => f.Entry.Size),
                    BytesRead = Interlocked.Read(ref _bytesRead),
                    Errors = _warnings.Count,
                    FilesUnchanged = all.OfType<FileState>().Count(f => f.Unchanged),
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

    private async Task<Dictionary<string, Node>> LoadFilesAsync(Snapshot parent, CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, Node>(StringComparer.Ordinal);
        try
        {
            // A directory level at a time, its trees read in parallel: read one by one, the parent's trees
            // were a third of an unchanged re-backup's engine time (docs/decisions.md).
            var level = new List<(string Path, Node Node)> { ("", parent.Root) };
            while (level.Count > 0)
            {
                var trees = new TreeNode[level.Count];
                await Parallel.ForEachAsync(Enumerable.Range(0, level.Count), new ParallelOptions { MaxDegreeOfParallelism = CofferStore.ParallelReads, CancellationToken = cancellationToken }, async (i, ct) =>
                {
                    trees[i] = await _store.ReadTreeAsync(BlobId.Parse(level[i].Node.Subtree!), ct).ConfigureAwait(false);
                }).ConfigureAwait(false);

                var next = new List<(string Path, Node Node)>();
                for (var i = 0; i < level.Count; i++)
                {
                    foreach (var child in trees[i].Entries)
                    {
                        var path = level[i].Path.Length == 0 ? child.Name : $"{level[i].Path}/{child.Name}";
                        if (child.Subtree is not null)
                        {
                            next.Add((path, child));
                        }
                        else if (child.Kind == Node.FileKind && child.Error is null && child.Content is not null)
                        {
                            files[path] = child;
                        }
                    }
                }

                level = next;
            }
        }
        catch (StoreException)
        {
            // A damaged parent only costs speed: everything is read again.
            files.Clear();
        }

        return files;
    }

    private async Task ScanAsync(List<DirectoryState> directories, Dictionary<string, Node> previous, ChannelWriter<FileState> files, CancellationToken cancellationToken)
    {
        var byPath = new Dictionary<string, DirectoryState>(StringComparer.Ordinal);
        await foreach (var entry in _source.ScanAsync(cancellationToken).ConfigureAwait(false))
        {
            if (entry.Path.Length == 0)
            {
                if (entry.Kind != EntryKind.Directory)
                {
                    throw new StoreException($"the source's root {_source.Description} is not a directory");
                }

                var root = new DirectoryState(entry, "") { Listed = !_excludes.HasIncludes, TaggedBy = await FindTagFileAsync("", cancellationToken).ConfigureAwait(false) };
                directories.Add(root);
                byPath[""] = root;
                continue;
            }

            var slash = entry.Path.LastIndexOf('/');
            var parentPath = slash < 0 ? "" : entry.Path[..slash];
            if (!byPath.TryGetValue(parentPath, out var parent))
            {
                continue; // inside an excluded directory
            }

            var name = entry.Path[(slash + 1)..];
            var inclusion = parent.Listed ? Inclusion.Listed : _excludes.Includes(entry.Path, entry.Kind == EntryKind.Directory);
            if (_excludes.Excludes(entry) || inclusion == Inclusion.None || (parent.TaggedBy is { } tag && (name != tag || entry.Kind != EntryKind.File)))
            {
                continue;
            }

            if (!Node.IsSafeName(name) || !parent.ChildNames.Add(name))
            {
                // A source (perhaps a third-party one) must not smuggle a path that escapes a restore into a tree.
                lock (_warnings)
                {
                    _warnings.Add($"{Node.Quote(entry.Path)}: not backed up: not a plain name below its directory, or listed twice");
                }

                continue;
            }

            if (entry.Error is not null)
            {
                lock (_warnings)
                {
                    _warnings.Add($"{Node.Quote(entry.Path)}: {entry.Error}");
                }
            }

            switch (entry.Kind)
            {
                case EntryKind.Directory:
                    var directory = new DirectoryState(entry, name) { Listed = inclusion == Inclusion.Listed, TaggedBy = await FindTagFileAsync(entry.Path, cancellationToken).ConfigureAwait(false) };
                    directories.Add(directory);
                    byPath[entry.Path] = directory;
                    parent.Children.Add(directory);
                    break;
                case EntryKind.File:
                    var file = new FileState(entry, name);
                    parent.Children.Add(file);
                    _progress.AddPlanned(entry.Size);
                    if (previous.TryGetValue(entry.Path, out var before) && IsUnchanged(before, entry))
                    {
                        file.Reuse(before);
                        _progress.AddDone(entry.Size, file: true);
                    }
                    else if (entry.Error is null)
                    {
                        _progress.ReportFile(before is null ? "new" : "modified", entry.Path);
                        if (_request.DryRun)
                        {
                            _wouldRead.Add(entry.Path);
                        }

                        await files.WriteAsync(file, cancellationToken).ConfigureAwait(false);
                    }

                    break;
                default:
                    parent.Children.Add(new LeafState(entry, name));
                    break;
            }
        }

        if (directories.Count == 0)
        {
            throw new StoreException($"the source {_source.Description} yielded nothing");
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
                lock (_warnings)
                {
                    _warnings.Add($"{Node.Quote(file.Entry.Path)}: {line}");
                }
            }
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

    /// <summary>Writes every directory's tree, deepest first (the scan lists parents before children).</summary>
    private static async Task<Node> WriteTreesAsync(List<DirectoryState> directories, PackUploader uploader, CancellationToken cancellationToken)
    {
        for (var i = directories.Count - 1; i >= 0; i--)
        {
            var directory = directories[i];
            directory.Children.RemoveAll(c => c is DirectoryState { Pruned: true });
            if (i > 0 && !directory.Listed && directory.Children.Count == 0)
            {
                // Only on the way to a --files-from glob that matched nothing below it.
                directory.Pruned = true;
                continue;
            }

            var tree = new TreeNode { Entries = directory.Children.Select(c => c.ToNode()).OrderBy(n => n.Name, StringComparer.Ordinal).ToList() };
            var id = await uploader.AddTreeAsync(tree, cancellationToken).ConfigureAwait(false);
            directory.Subtree = id.ToString();
            directory.Children.Clear();
        }

        return directories[0].ToNode();
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

    private sealed class DirectoryState(TreeEntry entry, string name) : EntryState(entry, name)
    {
        public List<EntryState> Children { get; } = [];

        public HashSet<string> ChildNames { get; } = new(StringComparer.Ordinal);

        public string? Subtree { get; set; }

        /// <summary>Kept with everything below it (no <c>--files-from</c>, or listed); false: only on the way to a listed path.</summary>
        public bool Listed { get; init; }

        /// <summary>The <c>--exclude-if-present</c> tag file it holds: only that file is kept.</summary>
        public string? TaggedBy { get; init; }

        public bool Pruned { get; set; }

        public override Node ToNode() => base.ToNode() with { Subtree = Subtree };
    }

    private sealed class FileState(TreeEntry entry, string name) : EntryState(entry, name)
    {
        private string? _sha256;
        private string? _error;
        private long? _size;
        private IReadOnlyList<string>? _reused;
        private IReadOnlyList<long[]>? _extents;

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
