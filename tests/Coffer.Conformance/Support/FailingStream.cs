namespace Coffer.Conformance.Support;

/// <summary>Reads from an inner stream, then throws <see cref="IOException"/> after a number of bytes: a source that dies mid-upload.</summary>
public sealed class FailingStream(Stream inner, long failAfter) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException("a failing stream does not tell its length");

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException("a failing stream cannot seek");
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= failAfter)
        {
            throw new IOException($"the test source failed after {failAfter} bytes");
        }

        var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, failAfter - _position)]);
        _position += read;
        return read;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a failing stream cannot seek");

    public override void SetLength(long value) => throw new NotSupportedException("a failing stream is read-only");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("a failing stream is read-only");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
