using Coffer.Abstractions;

namespace Coffer.Keep;

/// <summary>
/// Block buffers with a hard memory bound, as keepstore's buffer pool: at most <c>-max-buffers</c> are out
/// at once (a request waits for one), and the arrays in use plus those kept for reuse never exceed
/// <c>-max-buffers</c> × 64 MiB. Arrays come in power-of-two sizes from 64 KiB to 64 MiB, so a small
/// block does not pin a 64 MiB array; to make room for a new size, kept arrays are let go.
/// </summary>
internal sealed class BlockBufferPool : IDisposable
{
    private const int SmallestArray = 64 * 1024;

    private readonly Lock _lock = new();
    private readonly Stack<byte[]>[] _kept;
    private readonly SemaphoreSlim _slots;
    private readonly long _budget;
    private long _bytesInUse;
    private long _bytesKept;
    private long _bytesAllocatedCumulative;

    public BlockBufferPool(int maxBuffers)
    {
        MaxBuffers = maxBuffers;
        _budget = (long)maxBuffers * BlockHash.MaxBlockSize;
        _slots = new SemaphoreSlim(maxBuffers, maxBuffers);
        _kept = new Stack<byte[]>[BucketOf(BlockHash.MaxBlockSize) + 1];
        for (var i = 0; i < _kept.Length; i++)
        {
            _kept[i] = new Stack<byte[]>();
        }
    }

    public int MaxBuffers { get; }

    public int InUse => MaxBuffers - _slots.CurrentCount;

    /// <summary>Bytes of new arrays allocated since start (reused arrays do not count).</summary>
    public long BytesAllocatedCumulative => Interlocked.Read(ref _bytesAllocatedCumulative);

    /// <summary>Waits for a free slot and rents a buffer of at least <paramref name="size"/> bytes.</summary>
    public async ValueTask<BlockBuffer> RentAsync(int size, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, BlockHash.MaxBlockSize);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        var bucket = BucketOf(size);
        var length = SmallestArray << bucket;
        lock (_lock)
        {
            _bytesInUse += length;
            if (_kept[bucket].TryPop(out var kept))
            {
                _bytesKept -= length;
                return new BlockBuffer(this, kept, size);
            }

            // Let kept arrays go, largest first, until the new one fits the budget.
            for (var i = _kept.Length - 1; i >= 0; i--)
            {
                while (_bytesInUse + _bytesKept > _budget && _kept[i].TryPop(out var dropped))
                {
                    _bytesKept -= dropped.Length;
                }
            }
        }

        try
        {
            var array = GC.AllocateUninitializedArray<byte>(length);
            Interlocked.Add(ref _bytesAllocatedCumulative, length);
            return new BlockBuffer(this, array, size);
        }
        catch
        {
            Return(null, length);
            throw;
        }
    }

    /// <summary>Takes back a buffer's array (null when its allocation failed), keeping it for reuse if the budget allows.</summary>
    internal void Return(byte[]? array, int length)
    {
        lock (_lock)
        {
            _bytesInUse -= length;
            if (array is not null && _bytesInUse + _bytesKept + length <= _budget)
            {
                _kept[BucketOf(length)].Push(array);
                _bytesKept += length;
            }
        }

        _slots.Release();
    }

    public void Dispose() => _slots.Dispose();

    private static int BucketOf(int size)
    {
        var bucket = 0;
        while ((SmallestArray << bucket) < size)
        {
            bucket++;
        }

        return bucket;
    }
}

/// <summary>A rented block buffer; dispose it to give it back.</summary>
internal sealed class BlockBuffer : IDisposable
{
    private BlockBufferPool? _owner;

    internal BlockBuffer(BlockBufferPool owner, byte[] array, int capacity)
    {
        _owner = owner;
        Array = array;
        Capacity = capacity;
    }

    /// <summary>The array; only its first <see cref="Capacity"/> bytes are this buffer's.</summary>
    public byte[] Array { get; }

    public int Capacity { get; }

    /// <summary>A stream that fills the buffer from the start and refuses to overflow it.</summary>
    public FillStream OpenFill() => new(Array, Capacity);

    public void Dispose()
    {
        Interlocked.Exchange(ref _owner, null)?.Return(Array, Array.Length);
    }
}

/// <summary>A write-only stream over a fixed buffer; writing past its capacity throws <see cref="BlockTooLargeException"/>.</summary>
internal sealed class FillStream : Stream
{
    private readonly byte[] _buffer;
    private readonly int _capacity;
    private int _length;

    public FillStream(byte[] buffer, int capacity)
    {
        _buffer = buffer;
        _capacity = capacity;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length > _capacity - _length)
        {
            throw new BlockTooLargeException();
        }

        buffer.CopyTo(_buffer.AsSpan(_length));
        _length += buffer.Length;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>A stored block did not fit the buffer rented for it.</summary>
internal sealed class BlockTooLargeException : IOException
{
    public BlockTooLargeException()
        : base("the block is larger than its buffer")
    {
    }

    public BlockTooLargeException(string message)
        : base(message)
    {
    }

    public BlockTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
