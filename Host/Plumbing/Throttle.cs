namespace Coffer.Plumbing;

/// <summary>
/// A token bucket shared by several streams: the bytes they move together stay at <see cref="BytesPerSecond"/>,
/// with a burst of at most a tenth of a second's worth. The host's global limits and the azblob plugin's own
/// (which carries a private copy of this assembly) use this one type.
/// </summary>
public sealed class Throttle
{
    /// <summary>The largest piece one throttled read asks for, so one big read cannot run ahead of the rate.</summary>
    public const int MaxPiece = 64 * 1024;

    private const double BurstSeconds = 0.1;

    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly Lock _lock = new();
    private double _nextSeconds;

    /// <summary>A limiter of <paramref name="bytesPerSecond"/>, timed by <paramref name="time"/>.</summary>
    /// <param name="bytesPerSecond">The rate; positive.</param>
    /// <param name="time">The clock the waits use.</param>
    public Throttle(long bytesPerSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        ArgumentNullException.ThrowIfNull(time);
        BytesPerSecond = bytesPerSecond;
        _time = time;
        _start = time.GetTimestamp();
    }

    /// <summary>The rate in bytes per second.</summary>
    public long BytesPerSecond { get; }

    /// <summary>Waits until <paramref name="bytes"/> more may pass (the bytes are counted at once).</summary>
    /// <param name="bytes">Bytes just moved or about to move.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the rate allows.</returns>
    public Task WaitAsync(int bytes, CancellationToken cancellationToken = default)
    {
        if (bytes <= 0)
        {
            return Task.CompletedTask;
        }

        double wait;
        lock (_lock)
        {
            var now = _time.GetElapsedTime(_start).TotalSeconds;
            // Time left unused counts only up to the burst: an idle stream cannot save up a flood.
            _nextSeconds = Math.Max(_nextSeconds, now - BurstSeconds) + ((double)bytes / BytesPerSecond);
            wait = _nextSeconds - now;
        }

        return wait > 0 ? Task.Delay(TimeSpan.FromSeconds(wait), _time, cancellationToken) : Task.CompletedTask;
    }

    /// <summary>Parses a rate in bytes per second by <see cref="ByteSize"/>'s rule (<c>10MiB</c>, <c>500k</c>, <c>1000000</c>); it must be at least one byte.</summary>
    /// <param name="text">The text.</param>
    /// <param name="bytesPerSecond">The rate.</param>
    /// <returns>True when the text is a positive rate.</returns>
    public static bool TryParseRate(string? text, out long bytesPerSecond) => ByteSize.TryParse(text, out bytesPerSecond) && bytesPerSecond > 0;
}
