namespace Coffer.Plumbing;

/// <summary>A read-only stream whose reads pass through a <see cref="Throttle"/>; the inner stream is disposed with it.</summary>
/// <param name="inner">The stream read.</param>
/// <param name="throttle">The limiter, possibly shared with other streams.</param>
public sealed class ThrottledReadStream(Stream inner, Throttle throttle) : ReadOnlyStream
{
    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer[..Math.Min(buffer.Length, Throttle.MaxPiece)]);
        throttle.WaitAsync(read).GetAwaiter().GetResult();
        return read;
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, Throttle.MaxPiece)], cancellationToken).ConfigureAwait(false);
        await throttle.WaitAsync(read, cancellationToken).ConfigureAwait(false);
        return read;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
