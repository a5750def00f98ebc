namespace Coffer.Packager.Internal;

/// <summary>
/// A read-only stream that counts what passes through and refuses to go past a limit. It sits on the
/// uncompressed side of a package, so an archive bomb is stopped by what it actually produces.
/// </summary>
internal sealed class CountingStream : Stream
{
    private readonly Stream _inner;
    private readonly long _limit;
    private readonly Func<long, Exception> _onExceeded;

    public CountingStream(Stream inner, long limit, Func<long, Exception> onExceeded)
    {
        _inner = inner;
        _limit = limit;
        _onExceeded = onExceeded;
    }

    public long Count { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => Count;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer) => Counted(_inner.Read(Bounded(buffer)));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Counted(await _inner.ReadAsync(Bounded(buffer), cancellationToken).ConfigureAwait(false));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    // Never ask the inner stream for more than one byte beyond the limit: that byte proves the excess
    // without decompressing a bomb's worth of data first.
    private Span<byte> Bounded(Span<byte> buffer) => buffer[..(int)Math.Min(buffer.Length, _limit - Count + 1)];

    private Memory<byte> Bounded(Memory<byte> buffer) => buffer[..(int)Math.Min(buffer.Length, _limit - Count + 1)];

    private int Counted(int read)
    {
        Count += read;
        if (Count > _limit)
        {
            throw _onExceeded(_limit);
        }

        return read;
    }
}
