namespace Coffer.Plumbing;

/// <summary>
/// A read-only pass-through stream that counts the bytes read (to catch a short download) and, given a
/// limit, refuses to go past it (so an archive bomb is stopped by what it actually produces). It does
/// not own the inner stream.
/// </summary>
/// <param name="inner">The stream read through.</param>
/// <param name="limit">The most bytes that may be read.</param>
/// <param name="onExceeded">Makes the exception thrown when more than <paramref name="limit"/> bytes come; given the limit.</param>
public sealed class CountingStream(Stream inner, long limit, Func<long, Exception> onExceeded) : ReadOnlyStream
{
    /// <summary>Counts without a limit.</summary>
    /// <param name="inner">The stream read through.</param>
    public CountingStream(Stream inner)
        : this(inner, long.MaxValue, limit => new InvalidOperationException($"more than {limit} bytes"))
    {
    }

    /// <summary>The bytes read so far.</summary>
    public long BytesRead { get; private set; }

    /// <inheritdoc/>
    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer[..Bounded(buffer.Length)]));

    /// <inheritdoc/>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Counted(await inner.ReadAsync(buffer[..Bounded(buffer.Length)], cancellationToken).ConfigureAwait(false));

    // Never ask the inner stream for more than one byte beyond the limit: that byte proves the excess
    // without decompressing a bomb's worth of data first.
    private int Bounded(int length) => limit - BytesRead < length ? (int)(limit - BytesRead + 1) : length;

    private int Counted(int read)
    {
        BytesRead += read;
        if (BytesRead > limit)
        {
            throw onExceeded(limit);
        }

        return read;
    }
}
