using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Coffer.Abstractions;

namespace Coffer.Engine.Operations.Backup;

/// <summary>
/// A source's scan started before the store is open: opening an encrypted store derives its key (Argon2id, one
/// core busy for ~0.2 s) while the other core would idle, so the scan runs there meanwhile and holds up to
/// <see cref="Capacity"/> entries until the backup takes them (docs/decisions.md, "Backup profile").
/// </summary>
internal sealed class SourcePrescan : IAsyncDisposable
{
    /// <summary>How many entries the scan runs ahead of the backup at most (a few MiB of entries).</summary>
    public const int Capacity = 8192;

    private readonly Channel<TreeEntry> _entries = Channel.CreateBounded<TreeEntry>(new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop;
    private readonly Task _scan;
    private int _taken;

    /// <summary>Starts scanning <paramref name="source"/> on the thread pool.</summary>
    public SourcePrescan(ISourceConnector source, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var stop = _stop.Token;
        _scan = Task.Run(() => FillAsync(source, stop), CancellationToken.None);
    }

    /// <summary>The source's entries in the order it listed them; a scan's failure is thrown where it happened (the channel rethrows it). Once only.</summary>
    public async IAsyncEnumerable<TreeEntry> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _taken, 1) != 0)
        {
            throw new InvalidOperationException("the prescan's entries were taken already");
        }

        var reader = _entries.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var entry))
            {
                yield return entry;
            }
        }
    }

    /// <summary>Stops the scan if it is still running (the store could not be opened, or the backup failed).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _scan.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task FillAsync(ISourceConnector source, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var entry in source.ScanAsync(cancellationToken).ConfigureAwait(false))
            {
                await _entries.Writer.WriteAsync(entry, cancellationToken).ConfigureAwait(false);
            }

            _entries.Writer.TryComplete();
        }
        catch (Exception e)
        {
            // Handed to the reader, which throws it where the scan stopped, as a scan run by the backup itself would.
            _entries.Writer.TryComplete(e);
        }
    }
}
