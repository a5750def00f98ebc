namespace Coffer.Keep;

/// <summary>
/// A list of work the data manager replaces wholesale (keepstore's pull and trash queues): a new list
/// drops whatever of the old one has not started, and one worker takes items in order.
/// </summary>
internal sealed class WorkQueue<T> : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _signal = new(0, 1);
    private Queue<T> _pending = new();
    private int _inProgress;

    public (int Queued, int InProgress) Status
    {
        get
        {
            lock (_lock)
            {
                return (_pending.Count, _inProgress);
            }
        }
    }

    public void ReplaceAll(IEnumerable<T> items)
    {
        lock (_lock)
        {
            _pending = new Queue<T>(items);
            if (_pending.Count > 0 && _signal.CurrentCount == 0)
            {
                _signal.Release();
            }
        }
    }

    /// <summary>Takes items as they come until cancelled.</summary>
    public async Task RunAsync(Func<T, CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        while (true)
        {
            await _signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                T item;
                lock (_lock)
                {
                    if (!_pending.TryDequeue(out item!))
                    {
                        break;
                    }

                    _inProgress++;
                }

                try
                {
                    await work(item, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    lock (_lock)
                    {
                        _inProgress--;
                    }
                }
            }
        }
    }

    public void Dispose() => _signal.Dispose();
}
