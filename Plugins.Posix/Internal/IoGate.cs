namespace Coffer.Plugins.Posix.Internal;

/// <summary>
/// Lets I/O through one at a time when a volume is serialized (spinning disks seek less), and freely
/// otherwise. Each operation holds the gate only around its own disk work, never across a yield.
/// </summary>
internal sealed class IoGate : IDisposable
{
    private readonly SemaphoreSlim? _semaphore;

    public IoGate(bool serialize) => _semaphore = serialize ? new SemaphoreSlim(1, 1) : null;

    /// <summary>Waits for the gate; dispose the result to let the next operation in.</summary>
    public async ValueTask<Releaser> EnterAsync(CancellationToken cancellationToken)
    {
        if (_semaphore is null)
        {
            return default;
        }

        await _semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(_semaphore);
    }

    public void Dispose() => _semaphore?.Dispose();

    /// <summary>Releases the gate on dispose.</summary>
    internal readonly struct Releaser(SemaphoreSlim? semaphore) : IDisposable
    {
        public void Dispose() => semaphore?.Release();
    }
}
