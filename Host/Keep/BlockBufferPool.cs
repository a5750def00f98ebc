using System.Buffers;
using Coffer.Abstractions;

namespace Coffer.Host.Keep;

/// <summary>
/// Block buffers with a hard cap: at most <c>-max-buffers</c> are out at once (each up to 64 MiB), so
/// memory stays bounded however many requests arrive; a request waits for a buffer like keepstore's do.
/// Arrays come from a pool of their own, which keeps at most that many arrays per size.
/// </summary>
internal sealed class BlockBufferPool : IDisposable
{
    private readonly ArrayPool<byte> _arrays;
    private readonly SemaphoreSlim _slots;
    private long _bytesRentedCumulative;

    public BlockBufferPool(int maxBuffers)
    {
        MaxBuffers = maxBuffers;
        _arrays = ArrayPool<byte>.Create(BlockHash.MaxBlockSize, maxBuffers);
        _slots = new SemaphoreSlim(maxBuffers, maxBuffers);
    }

    public int MaxBuffers { get; }

    public int InUse => MaxBuffers - _slots.CurrentCount;

    public long BytesRentedCumulative => Interlocked.Read(ref _bytesRentedCumulative);

    /// <summary>Waits for a free slot and rents a buffer of at least <paramref name="size"/> bytes.</summary>
    public async ValueTask<BlockBuffer> RentAsync(int size, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, BlockHash.MaxBlockSize);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var array = _arrays.Rent(Math.Max(size, 1));
            Interlocked.Add(ref _bytesRentedCumulative, array.Length);
            return new BlockBuffer(this, array, size);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    internal void Return(byte[] array)
    {
        _arrays.Return(array);
        _slots.Release();
    }

    public void Dispose() => _slots.Dispose();
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
        Interlocked.Exchange(ref _owner, null)?.Return(Array);
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
