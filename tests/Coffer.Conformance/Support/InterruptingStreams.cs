namespace Coffer.Conformance.Support;

/// <summary>Reads from an inner stream, then throws <see cref="IOException"/> after a number of bytes: a source that dies mid-upload.</summary>
public sealed class FailingStream(Stream inner, long failAfter) : ForwardOnlyStream
{
    public override int Read(Span<byte> buffer)
    {
        if (BytesRead >= failAfter)
        {
            throw new IOException($"the test source failed after {failAfter} bytes");
        }

        var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, failAfter - BytesRead)]);
        BytesRead += read;
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>Reads from an inner stream and cancels a token once a number of bytes went by: a user pressing Ctrl-C mid-upload.</summary>
public sealed class CancellingStream(Stream inner, long cancelAfter, CancellationTokenSource cancellation) : ForwardOnlyStream
{
    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        BytesRead += read;
        if (BytesRead >= cancelAfter)
        {
            cancellation.Cancel();
        }

        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
