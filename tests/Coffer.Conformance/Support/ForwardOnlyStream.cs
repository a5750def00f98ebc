namespace Coffer.Conformance.Support;

/// <summary>
/// The base of the kit's test streams: readable, forward-only, no length. Derived streams implement
/// <see cref="Read(Span{byte})"/>; everything else is refused, so a connector under test cannot lean on
/// seeking or on knowing the length up front.
/// </summary>
public abstract class ForwardOnlyStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException($"a {GetType().Name} does not tell its length: read it to the end");

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException($"a {GetType().Name} cannot seek");
    }

    /// <summary>How many bytes were read so far.</summary>
    protected long BytesRead { get; set; }

    public abstract override int Read(Span<byte> buffer);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException($"a {GetType().Name} cannot seek");

    public override void SetLength(long value) => throw new NotSupportedException($"a {GetType().Name} is read-only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException($"a {GetType().Name} is read-only");
}
