using Coffer.Abstractions;

namespace Coffer.TestSupport;

/// <summary>
/// A real source that pauses the backup reading it at its <paramref name="pauseAt"/>th file open until the test
/// lets it go on: what runs beside "a running backup" then runs beside it for sure, however fast the machine.
/// </summary>
internal sealed class PausingSource(ISourceConnector inner, int pauseAt, TaskCompletionSource reached, Task resume) : ISourceConnector
{
    private int _opened;

    public string Description => inner.Description;

    public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Increment(ref _opened) == pauseAt)
        {
            reached.SetResult();
            await resume.WaitAsync(cancellationToken);
        }

        return await inner.OpenReadAsync(path, cancellationToken);
    }

    public IAsyncEnumerable<TreeEntry> ScanAsync(CancellationToken cancellationToken = default) => inner.ScanAsync(cancellationToken);

    /// <summary>The inner source stays the caller's to dispose.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
