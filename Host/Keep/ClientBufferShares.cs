using System.Net;

namespace Coffer.Keep;

/// <summary>
/// Each client's share of the block buffers: requests from one remote address hold at most half of
/// <c>-max-buffers</c> (at least one) at a time, so one client trickling its bodies cannot starve the others
/// (docs/reliability.md, "Keep fairness"). A request beyond its address's share is answered 503 at once, which
/// Arvados clients retry, rather than queued behind the slow ones.
/// </summary>
internal sealed class ClientBufferShares
{
    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, int> _held = [];

    public ClientBufferShares(int maxBuffers) => PerClient = Math.Max(1, (maxBuffers + 1) / 2);

    /// <summary>How many buffers one remote address may hold at once.</summary>
    public int PerClient { get; }

    /// <summary>Takes one buffer share for <paramref name="client"/>; null when it holds its whole share already.</summary>
    /// <param name="client">The remote address; null (no network peer) is not limited.</param>
    /// <returns>The share, to dispose when the buffer is given back; null when refused.</returns>
    public IDisposable? TryTake(IPAddress? client)
    {
        if (client is null)
        {
            return Unlimited.Instance;
        }

        var key = client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client;
        lock (_lock)
        {
            var held = _held.GetValueOrDefault(key);
            if (held >= PerClient)
            {
                return null;
            }

            _held[key] = held + 1;
        }

        return new Share(this, key);
    }

    private void Release(IPAddress key)
    {
        lock (_lock)
        {
            if (--_held[key] == 0)
            {
                _held.Remove(key);
            }
        }
    }

    private sealed class Share(ClientBufferShares owner, IPAddress key) : IDisposable
    {
        private ClientBufferShares? _owner = owner;

        public void Dispose() => Interlocked.Exchange(ref _owner, null)?.Release(key);
    }

    private sealed class Unlimited : IDisposable
    {
        public static readonly Unlimited Instance = new();

        public void Dispose()
        {
        }
    }
}
