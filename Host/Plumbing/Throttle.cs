using System.Globalization;

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

    /// <summary>
    /// Parses a rate in bytes per second: a positive number with an optional unit, <c>B</c>, <c>KiB</c>/<c>K</c>,
    /// <c>MiB</c>/<c>M</c>, <c>GiB</c>/<c>G</c> (powers of 1024) or <c>KB</c>, <c>MB</c>, <c>GB</c> (powers of 1000),
    /// case-insensitive: <c>10MiB</c>, <c>500k</c>, <c>1000000</c>.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="bytesPerSecond">The rate.</param>
    /// <returns>True when the text is a rate.</returns>
    public static bool TryParseRate(string? text, out long bytesPerSecond)
    {
        bytesPerSecond = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var trimmed = text.Trim();
        var digits = 0;
        while (digits < trimmed.Length && (char.IsAsciiDigit(trimmed[digits]) || trimmed[digits] == '.'))
        {
            digits++;
        }

        long multiplier = trimmed[digits..].Trim().ToLowerInvariant() switch
        {
            "" or "b" => 1,
            "k" or "kib" => 1L << 10,
            "m" or "mib" => 1L << 20,
            "g" or "gib" => 1L << 30,
            "kb" => 1000,
            "mb" => 1000_000,
            "gb" => 1000_000_000,
            _ => 0,
        };
        if (multiplier == 0 || !decimal.TryParse(trimmed[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            || number <= 0 || number > long.MaxValue / multiplier)
        {
            return false;
        }

        bytesPerSecond = Math.Max(1, (long)(number * multiplier));
        return true;
    }
}
