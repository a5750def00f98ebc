using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Threading.Channels;
using Coffer.Abstractions;
using Coffer.Engine.Core;

namespace Coffer.Engine.Repository.Packs;

/// <summary>
/// Gathers sealed blobs into packfiles (data and trees apart, so reading trees never pulls file data)
/// and uploads finished packs in the background, a bounded number at a time. After every few packs it
/// writes an index object, so a backup that dies half-way leaves indexed packs a later run can reuse.
/// At most <c>concurrency</c> finished packs exist at once (being uploaded or waiting to be): a full pack
/// waits for a slot before it is closed, which holds up the encoders behind it, so memory stays at one
/// filling pack per type plus the uploads.
/// </summary>
internal sealed class PackUploader : IDisposable
{
    private const int IndexEvery = 32;

    private readonly CofferStore _store;
    private readonly Channel<FinishedPack> _queue;
    private readonly Task[] _workers;
    private readonly PackBuilder _data;
    private readonly PackBuilder _trees;
    private readonly ConcurrentDictionary<BlobId, byte> _claimed = new();
    private readonly List<(string Pack, IReadOnlyList<PackEntry> Entries)> _unindexed = [];
    private readonly SemaphoreSlim _indexLock = new(1, 1);
    private readonly SemaphoreSlim _uploadSlots;
    private readonly CancellationToken _cancellationToken;
    private long _newBytes;
    private long _newBlobs;
    private long _uploadedBytes;

    private readonly CancellationTokenSource _failure;

    public PackUploader(CofferStore store, int concurrency, CancellationTokenSource failure)
    {
        _store = store;
        _failure = failure;
        var cancellationToken = _cancellationToken = failure.Token;
        _data = new PackBuilder(store.Config.PackSize);
        _trees = new PackBuilder(store.Config.PackSize);
        _uploadSlots = new SemaphoreSlim(concurrency, concurrency);

        // Never full: a pack is only written here once it holds an upload slot.
        _queue = Channel.CreateBounded<FinishedPack>(new BoundedChannelOptions(concurrency) { SingleReader = false, SingleWriter = false });
        _workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(UploadLoopAsync, cancellationToken)).ToArray();
    }

    /// <summary>The error that stopped uploading, if one did.</summary>
    public Exception? Failure { get; private set; }

    public long NewBytes => Interlocked.Read(ref _newBytes);

    public long NewBlobs => Interlocked.Read(ref _newBlobs);

    /// <summary>Bytes of finished packs uploaded so far.</summary>
    public long UploadedBytes => Interlocked.Read(ref _uploadedBytes);

    /// <summary>
    /// Claims a blob for upload: true when neither the store nor this backup has it yet, so exactly one
    /// caller encodes and uploads each new blob.
    /// </summary>
    public bool TryClaim(BlobId id) => !_store.Index.Contains(id) && _claimed.TryAdd(id, 0);

    /// <summary>Adds a sealed blob, taking ownership of its pooled buffer.</summary>
    public async Task AddAsync(BlobType type, BlobId id, byte[] sealedBuffer, int length, int rawLength, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _newBytes, length);
        Interlocked.Increment(ref _newBlobs);
        var builder = type == BlobType.Tree ? _trees : _data;
        FinishedPack? finished;
        await builder.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            finished = null;
            // A pack is closed before a blob would take it past the pack size, not after: packs in memory
            // (one filling, the uploads) stay at the pack size instead of up to one maximum blob more.
            if (builder.Count > 0 && builder.WouldOverflow(length))
            {
                await _uploadSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
                finished = builder.Finish(_store.Keys);
            }

            builder.Add(new PackEntry(type, id, 0, (uint)length, (uint)rawLength), sealedBuffer.AsSpan(0, length));
            if (finished is null && builder.IsFull)
            {
                await _uploadSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
                finished = builder.Finish(_store.Keys);
            }
        }
        finally
        {
            builder.Lock.Release();
            BlobBuffers.Pool.Return(sealedBuffer);
        }

        if (finished is not null)
        {
            await _queue.Writer.WriteAsync(finished, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stores a directory's tree blob unless the store or this upload has it already; returns its id.</summary>
    public async Task<BlobId> AddTreeAsync(Core.Model.TreeNode tree, CancellationToken cancellationToken)
    {
        var json = tree.ToJson();
        var id = _store.Keys.ComputeId(json);
        if (TryClaim(id))
        {
            var (buffer, length) = _store.Codec.Encode(BlobType.Tree, id, json);
            await AddAsync(BlobType.Tree, id, buffer, length, json.Length, cancellationToken).ConfigureAwait(false);
        }

        return id;
    }

    /// <summary>Uploads what is left, waits for every upload and writes the last index object.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        foreach (var builder in new[] { _data, _trees })
        {
            if (builder.Count > 0)
            {
                await _uploadSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
                await _queue.Writer.WriteAsync(builder.Finish(_store.Keys), cancellationToken).ConfigureAwait(false);
            }
        }

        _queue.Writer.TryComplete();
        await Task.WhenAll(_workers).ConfigureAwait(false);
        await FlushIndexAsync(force: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the upload workers after a failure or an interruption; uploaded packs are indexed, unfinished ones dropped.</summary>
    public async Task AbandonAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_workers).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectorException or IOException)
        {
            // The failure that made us abandon is the one reported.
        }

        // Index the packs that did arrive, so the next backup reuses them instead of sending them again.
        try
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await FlushIndexAsync(force: true, grace.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ConnectorException or IOException)
        {
            // The store is unreachable: those packs stay unindexed until a maintenance rebuilds the index.
        }
    }

    public void Dispose()
    {
        _data.Dispose();
        _trees.Dispose();
        _indexLock.Dispose();
        _uploadSlots.Dispose();
    }

    private async Task UploadLoopAsync()
    {
        try
        {
            await foreach (var pack in _queue.Reader.ReadAllAsync(_cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await _store.PutObjectAsync(StorageObjectClass.Packfile, pack.Name, pack.Content.OpenRead(), _cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    pack.Content.Dispose();
                    _uploadSlots.Release();
                }

                Interlocked.Add(ref _uploadedBytes, pack.Length);
                _store.Index.AddPack(pack.Name, pack.Entries);

                // Not cancellable: a pack that arrived must be remembered, or an interrupted backup forgets it.
                await _indexLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    _unindexed.Add((pack.Name, pack.Entries));
                }
                finally
                {
                    _indexLock.Release();
                }

                await FlushIndexAsync(force: false, _cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            Failure ??= e;
            await _failure.CancelAsync().ConfigureAwait(false);

            // Whoever writes next sees the failure instead of blocking on a full queue.
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var dropped))
            {
                dropped.Content.Dispose();
            }

            throw;
        }
    }

    private async Task FlushIndexAsync(bool force, CancellationToken cancellationToken)
    {
        await _indexLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Every few packs, or sooner when small blobs fill an index object: those are read whole.
            if (_unindexed.Count == 0 || (!force && _unindexed.Count < IndexEvery && _unindexed.Sum(p => p.Entries.Count) < CofferStore.MaxIndexObjectBlobs))
            {
                return;
            }

            await _store.WriteIndexAsync(_unindexed.ToList(), cancellationToken).ConfigureAwait(false);
            _unindexed.Clear();
        }
        finally
        {
            _indexLock.Release();
        }
    }

    private sealed record FinishedPack(string Name, SegmentedBuffer Content, IReadOnlyList<PackEntry> Entries)
    {
        public int Length => Content.Length;
    }

    /// <summary>One pack being filled; it takes the memory its content needs, in 1 MiB pooled segments.</summary>
    private sealed class PackBuilder : IDisposable
    {
        private readonly int _packSize;
        private readonly List<PackEntry> _entries = [];
        private SegmentedBuffer _content = new();

        public PackBuilder(int packSize) => _packSize = packSize;

        public SemaphoreSlim Lock { get; } = new(1, 1);

        public int Count => _entries.Count;

        // Small blobs fill a pack by count before size: a pack of a million 40-byte blobs would need an index
        // object of a million entries, and index objects are read whole (CofferStore.MaxIndexObjectBlobs).
        public bool IsFull => _content.Length >= _packSize || _entries.Count >= CofferStore.MaxIndexObjectBlobs;

        /// <summary>Whether a blob of <paramref name="length"/> bytes would take the pack past its size.</summary>
        public bool WouldOverflow(int length) => _content.Length + length > _packSize;

        public void Add(PackEntry entry, ReadOnlySpan<byte> sealedBytes)
        {
            _entries.Add(entry with { Offset = (uint)_content.Length });
            _content.Append(sealedBytes);
        }

        public FinishedPack Finish(Crypto.StoreKeys keys)
        {
            var header = PackFormat.EncodeHeader(keys, _entries);
            _content.Append(header);
            Span<byte> length = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, header.Length);
            _content.Append(length);

            // Packs are named by the SHA-256 of their bytes: check can verify one without any key.
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var segment in _content.Segments())
            {
                sha.AppendData(segment.Span);
            }

            var finished = new FinishedPack(Convert.ToHexStringLower(sha.GetHashAndReset()), _content, _entries.ToArray());
            _entries.Clear();
            _content = new SegmentedBuffer();
            return finished;
        }

        public void Dispose()
        {
            _content.Dispose();
            Lock.Dispose();
        }
    }
}
