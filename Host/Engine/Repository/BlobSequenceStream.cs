using System.Security.Cryptography;
using Coffer.Engine.Core;

namespace Coffer.Engine.Repository;

/// <summary>
/// A file's content read back from its blobs in order, with a few blobs fetched ahead in parallel
/// (ranged reads of their packs). Every blob is authenticated and checked against its id, which already
/// proves the content; <c>check</c> also compares the whole content with the file's SHA-256 (pass the hash).
/// </summary>
internal sealed class BlobSequenceStream : Stream
{
    private readonly CofferStore _store;
    private readonly IReadOnlyList<string> _ids;
    private readonly string? _expectedSha256;
    private readonly string _path;
    private readonly int _readAhead;
    private readonly Queue<Task<(byte[] Buffer, int Length)>> _pending = new();
    private readonly IncrementalHash? _sha256;
    private readonly CancellationTokenSource _stop = new();
    private int _next;
    private byte[]? _current;
    private int _currentLength;
    private int _currentOffset;
    private bool _verified;

    public BlobSequenceStream(CofferStore store, IReadOnlyList<string> ids, string? expectedSha256, string path, int readAhead = 4)
    {
        _store = store;
        _ids = ids;
        _expectedSha256 = expectedSha256;
        _path = path;
        _readAhead = readAhead;
        _sha256 = expectedSha256 is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_current is null || _currentOffset == _currentLength)
        {
            if (_current is not null)
            {
                BlobBuffers.Pool.Return(_current);
                _current = null;
            }

            while (_pending.Count < _readAhead && _next < _ids.Count)
            {
                var id = BlobId.Parse(_ids[_next++]);
                _pending.Enqueue(Task.Run(() => _store.ReadBlobAsync(id, _stop.Token), _stop.Token));
            }

            if (_pending.Count == 0)
            {
                Verify();
                return 0;
            }

            (_current, _currentLength) = await _pending.Dequeue().ConfigureAwait(false);
            _currentOffset = 0;
            _sha256?.AppendData(_current, 0, _currentLength);
        }

        var count = Math.Min(buffer.Length, _currentLength - _currentOffset);
        _current.AsMemory(_currentOffset, count).CopyTo(buffer);
        _currentOffset += count;
        return count;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private void Verify()
    {
        if (_verified)
        {
            return;
        }

        _verified = true;
        if (_sha256 is null)
        {
            return;
        }

        var actual = Convert.ToHexStringLower(_sha256.GetHashAndReset());
        if (_expectedSha256 is not null && actual != _expectedSha256)
        {
            throw new StoreFormatException($"{_path}: content does not match its recorded SHA-256");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stop.Cancel();
            if (_current is not null)
            {
                BlobBuffers.Pool.Return(_current);
                _current = null;
            }

            while (_pending.TryDequeue(out var task))
            {
                // Return what the read-ahead fetched; failures no longer matter to anyone.
                try
                {
                    var (buffer, _) = task.GetAwaiter().GetResult();
                    BlobBuffers.Pool.Return(buffer);
                }
                catch (Exception e) when (e is OperationCanceledException or StoreException or IOException or Coffer.Abstractions.ConnectorException)
                {
                }
            }

            _sha256?.Dispose();
            _stop.Dispose();
        }

        base.Dispose(disposing);
    }
}
