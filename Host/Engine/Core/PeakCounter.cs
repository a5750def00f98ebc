namespace Coffer.Engine.Core;

/// <summary>A count of things held (added and removed from any thread) and the most held at once: how tests see a memory bound.</summary>
internal sealed class PeakCounter
{
    private long _now;
    private long _peak;

    /// <summary>The most held at once so far.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    /// <summary>Adds <paramref name="count"/> (negative: removes).</summary>
    public void Add(long count)
    {
        var now = Interlocked.Add(ref _now, count);
        for (var peak = Interlocked.Read(ref _peak); now > peak; peak = Interlocked.Read(ref _peak))
        {
            if (Interlocked.CompareExchange(ref _peak, now, peak) == peak)
            {
                break;
            }
        }
    }
}
