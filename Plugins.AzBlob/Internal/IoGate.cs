namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>
/// Lets one I/O at a time through when a volume is serialized (<c>serialize</c>), and everything at once
/// otherwise.
/// </summary>
internal sealed class IoGate : IDisposable
{
    private readonly SemaphoreSlim? _semaphore;

    public IoGate(bool serialize)
    {
        _semaphore = serialize ? new SemaphoreSlim(1, 1) : null;
    }

    /// <summary>Waits for a turn; dispose the result to end it.</summary>
    public async ValueTask<Turn> EnterAsync(CancellationToken cancellationToken)
    {
        if (_semaphore is null)
        {
            return default;
        }

        await _semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Turn(_semaphore);
    }

    public void Dispose() => _semaphore?.Dispose();

    /// <summary>One I/O's turn.</summary>
    internal readonly struct Turn(SemaphoreSlim? semaphore) : IDisposable
    {
        public void Dispose() => semaphore?.Release();
    }
}
