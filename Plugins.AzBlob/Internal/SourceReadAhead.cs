using Azure.Storage.Blobs;

namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>
/// Downloads the next small blobs of a scan before they are asked for. A backup reads a source's files with two
/// readers, in scan order; against Azure each small file is one request's latency, so two in flight leave the
/// link and the service idle. When reads follow the scan (the file opened is at most <see cref="Adjacent"/>
/// files after the previous one), the next <see cref="Window"/> small blobs are fetched, up to
/// <see cref="InFlight"/> at once. A backup that skips files (unchanged ones on a re-backup) breaks the sequence,
/// so nothing is fetched ahead of files it will never read; a fetched blob not taken within
/// <see cref="Slack"/> files is dropped. A failed fetch is not reported: the read then goes to the service as
/// usual, so its error reads as without read-ahead. Only the last <see cref="Remembered"/> files the scan
/// yielded are remembered (a read of an older one goes to the service), so its RAM does not grow with the tree.
/// </summary>
internal sealed class SourceReadAhead : IDisposable
{
    /// <summary>Blobs up to this size are fetched ahead, whole, into memory.</summary>
    public const long MaxBlobSize = 256 * 1024;

    private const int Window = 32;
    private const int InFlight = 16;
    private const int Adjacent = 4;
    private const int Slack = 64;

    // Far more than the backup's scan runs ahead of its readers (its prescan and queued files), a few MiB at most.
    private const int Remembered = 32 * 1024;

    private readonly BlobContainerClient _container;
    private readonly Dictionary<int, (string Path, string BlobName, long Size)> _files = [];
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);
    private readonly Dictionary<int, Task<byte[]?>> _fetched = [];
    private readonly SemaphoreSlim _slots = new(InFlight, InFlight);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private int _added;
    private int _lastRead = -1;
    private int _scheduledUpTo = -1;

    public SourceReadAhead(BlobContainerClient container) => _container = container;

    /// <summary>The scan yields a file: remember its place in the order reads will follow.</summary>
    public void Add(string path, string blobName, long size)
    {
        lock (_lock)
        {
            _positions[path] = _added;
            _files[_added] = (path, blobName, size);
            if (_files.Remove(_added - Remembered, out var forgotten))
            {
                _positions.Remove(forgotten.Path);
            }

            _added++;
        }
    }

    /// <summary>The content fetched ahead for <paramref name="path"/>, or null (read it from the service); fetches the files that follow.</summary>
    public async Task<byte[]?> TakeAsync(string path)
    {
        Task<byte[]?>? fetched;
        lock (_lock)
        {
            if (!_positions.TryGetValue(path, out var position))
            {
                return null;
            }

            _fetched.Remove(position, out fetched);
            var sequential = position > _lastRead && position - _lastRead <= Adjacent;
            _lastRead = Math.Max(_lastRead, position);
            DropStale(position);
            if (sequential)
            {
                ScheduleAfter(position);
            }
        }

        if (fetched is null)
        {
            return null;
        }

        try
        {
            return await fetched.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
        {
            return null; // read again from the service, which reports the error as a read without read-ahead would
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        lock (_lock)
        {
            _fetched.Clear();
        }

        _stop.Dispose();
    }

    // Called under the lock.
    private void ScheduleAfter(int position)
    {
        var from = Math.Max(position + 1, _scheduledUpTo + 1);
        var to = Math.Min(position + Window, _added - 1);
        for (var next = from; next <= to; next++)
        {
            var (_, blobName, size) = _files[next];
            if (size <= MaxBlobSize && size > 0)
            {
                _fetched[next] = FetchAsync(blobName);
            }
        }

        _scheduledUpTo = Math.Max(_scheduledUpTo, to);
    }

    // Called under the lock: what the readers passed long ago will not be asked for.
    private void DropStale(int position)
    {
        if (_fetched.Count == 0)
        {
            return;
        }

        foreach (var stale in _fetched.Keys.Where(k => k < position - Slack).ToList())
        {
            _fetched.Remove(stale);
        }
    }

    private async Task<byte[]?> FetchAsync(string blobName)
    {
        var token = _stop.Token;
        await _slots.WaitAsync(token).ConfigureAwait(false);
        try
        {
            var content = await _container.GetBlobClient(blobName).DownloadContentAsync(token).ConfigureAwait(false);
            return content.Value.Content.ToArray();
        }
        finally
        {
            _slots.Release();
        }
    }
}
