using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Repository.Packs;

namespace Coffer.Engine.Repository;

/// <summary>
/// The blobs of a batch of small files, read pack by pack: the blobs wanted from one pack are sorted by offset
/// and read with as few ranged reads as gaps allow (one per pack when they lie close together), instead of one
/// read per blob. Holds the decoded blobs until disposed; the caller bounds a batch's size.
/// </summary>
internal sealed class BlobBatch : IDisposable
{
    // Blobs this close together in a pack are read with the bytes between them rather than with a second request.
    private const int MaxGap = 256 * 1024;

    // One range is at most this long, so a batch of blobs spread over a huge pack is not one huge buffer.
    private const int MaxRange = 16 * 1024 * 1024;

    private readonly Dictionary<BlobId, (byte[] Buffer, int Length)> _blobs = [];

    private BlobBatch()
    {
    }

    /// <summary>The ranged reads the batch made (one per run of nearby blobs in a pack).</summary>
    public int Reads { get; private set; }

    /// <summary>Reads, authenticates and decodes <paramref name="ids"/>, a few packs in parallel.</summary>
    /// <exception cref="MissingBlobException">The index does not know a blob, or its pack is gone.</exception>
    public static async Task<BlobBatch> ReadAsync(CofferStore store, IEnumerable<BlobId> ids, CancellationToken cancellationToken)
    {
        var batch = new BlobBatch();
        try
        {
            var ranges = new List<(string Pack, long Offset, int Length, List<(BlobId Id, BlobLocation Location)> Blobs)>();
            foreach (var pack in ids.Distinct().Select(id => (Id: id, Location: store.Index.TryGet(id, out var location) ? location : throw new MissingBlobException(id)))
                .GroupBy(b => b.Location.Pack, StringComparer.Ordinal))
            {
                List<(BlobId, BlobLocation)>? run = null;
                long start = 0, end = 0;
                foreach (var blob in pack.OrderBy(b => b.Location.Offset))
                {
                    var blobEnd = (long)blob.Location.Offset + blob.Location.Length;
                    if (run is null || blob.Location.Offset - end > MaxGap || blobEnd - start > MaxRange)
                    {
                        if (run is not null)
                        {
                            ranges.Add((pack.Key, start, (int)(end - start), run));
                        }

                        run = [];
                        start = blob.Location.Offset;
                    }

                    run.Add(blob);
                    end = Math.Max(end, blobEnd);
                }

                ranges.Add((pack.Key, start, (int)(end - start), run!));
            }

            var gate = new Lock();
            await Parallel.ForEachAsync(ranges, new ParallelOptions { MaxDegreeOfParallelism = CofferStore.ParallelReads, CancellationToken = cancellationToken }, async (range, ct) =>
            {
                byte[] sealedBytes;
                try
                {
                    sealedBytes = await store.ReadPackRangeAsync(range.Pack, range.Offset, range.Length, ct).ConfigureAwait(false);
                }
                catch (NotFoundException e)
                {
                    throw new MissingBlobException(range.Blobs[0].Id, $"its pack {range.Pack} is missing", e);
                }

                try
                {
                    foreach (var (id, location) in range.Blobs)
                    {
                        var plain = BlobBuffers.Pool.Rent(Math.Max(1, (int)location.RawLength));
                        try
                        {
                            store.Codec.Decode(location.Type, id, sealedBytes.AsSpan((int)(location.Offset - range.Offset), (int)location.Length), (int)location.RawLength, plain);
                        }
                        catch
                        {
                            BlobBuffers.Pool.Return(plain);
                            throw;
                        }

                        lock (gate)
                        {
                            batch._blobs[id] = (plain, (int)location.RawLength);
                        }
                    }
                }
                finally
                {
                    BlobBuffers.Pool.Return(sealedBytes);
                }
            }).ConfigureAwait(false);
            batch.Reads = ranges.Count;
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>One decoded blob of the batch, valid while the batch is.</summary>
    public ReadOnlySpan<byte> this[BlobId id]
    {
        get
        {
            var (buffer, length) = _blobs[id];
            return buffer.AsSpan(0, length);
        }
    }

    /// <summary>A file's content from the batch's blobs; the stream is valid while the batch is.</summary>
    public Stream Open(IReadOnlyList<string> ids) => new BatchContentStream(this, ids);

    public void Dispose()
    {
        foreach (var (buffer, _) in _blobs.Values)
        {
            BlobBuffers.Pool.Return(buffer);
        }

        _blobs.Clear();
    }

    private sealed class BatchContentStream(BlobBatch batch, IReadOnlyList<string> ids) : Coffer.Plumbing.ReadOnlyStream
    {
        private int _next;
        private ReadOnlyMemory<byte> _current;

        public override int Read(Span<byte> buffer)
        {
            while (_current.IsEmpty)
            {
                if (_next == ids.Count)
                {
                    return 0;
                }

                var (blob, length) = batch._blobs[BlobId.Parse(ids[_next++])];
                _current = blob.AsMemory(0, length);
            }

            var count = Math.Min(buffer.Length, _current.Length);
            _current.Span[..count].CopyTo(buffer);
            _current = _current[count..];
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }
}
