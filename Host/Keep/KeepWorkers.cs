using Coffer.Abstractions;
using Microsoft.Extensions.Logging;

namespace Coffer.Keep;

/// <summary>
/// The server's background work: the pull list (copy blocks from other keep servers), the trash list
/// (trash blocks the data manager found unreferenced) and the periodic emptying of expired trash.
/// Read-only volumes are left out of all three.
/// </summary>
internal sealed partial class KeepWorkers : IDisposable
{
    private static readonly HttpClient PullClient = new() { Timeout = TimeSpan.FromMinutes(5) };

    private readonly BlockStore _store;
    private readonly KeepstoreSecrets _secrets;
    private readonly KeepstoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public KeepWorkers(BlockStore store, KeepstoreSecrets secrets, KeepstoreOptions options, TimeProvider time, ILogger logger)
    {
        _store = store;
        _secrets = secrets;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public WorkQueue<PullRequest> Pulls { get; } = new();

    public WorkQueue<TrashRequest> Trash { get; } = new();

    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(
            Quietly(Pulls.RunAsync(PullAsync, cancellationToken)),
            Quietly(Trash.RunAsync(TrashAsync, cancellationToken)),
            Quietly(EmptyTrashPeriodicallyAsync(cancellationToken)));

    /// <summary>Deletes for good the expired trash of every writable volume.</summary>
    public async Task EmptyTrashAsync(CancellationToken cancellationToken)
    {
        foreach (var mount in _store.Volumes.Writable)
        {
            try
            {
                await mount.RunAsync((v, ct) => v.EmptyTrashAsync(ct), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogEmptyTrashFailed(mount.Label, e.Message);
            }
        }
    }

    public void Dispose()
    {
        Pulls.Dispose();
        Trash.Dispose();
    }

    private async Task EmptyTrashPeriodicallyAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.TrashCheckInterval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            await EmptyTrashAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task TrashAsync(TrashRequest request, CancellationToken cancellationToken)
    {
        if (!KeepLocator.TryParse(request.Locator, out var locator))
        {
            return;
        }

        if (_options.NeverDelete)
        {
            LogTrashNeverDelete(locator.Hash);
            return;
        }

        foreach (var mount in _store.Volumes.Writable.Where(m => string.IsNullOrEmpty(request.MountUuid) || m.Uuid == request.MountUuid))
        {
            try
            {
                var mtime = await mount.RunAsync((v, ct) => v.GetMtimeAsync(locator.Hash, ct), cancellationToken).ConfigureAwait(false);
                if (BlockHash.ToUnixNanoseconds(mtime) != request.BlockMtime)
                {
                    // Written or touched since the data manager looked: somebody wants it.
                    continue;
                }

                // The volume leaves a block younger than the signature TTL alone: it alone can judge the age and
                // trash in one step (docs/abi.md, "Who enforces each volume rule").
                await mount.RunAsync((v, ct) => v.TrashAsync(locator.Hash, ct), cancellationToken).ConfigureAwait(false);
                LogTrashed(mount.Label, locator.Hash);
            }
            catch (NotFoundException)
            {
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                KeepLog.VolumeOperationFailed(_logger, mount.Label, "trash", locator.Hash, e.Message);
            }
        }
    }

    private async Task PullAsync(PullRequest request, CancellationToken cancellationToken)
    {
        if (!KeepLocator.TryParse(request.Locator, out var locator))
        {
            return;
        }

        KeepMount? target = null;
        if (!string.IsNullOrEmpty(request.MountUuid) && (target = _store.Volumes.Find(request.MountUuid)) is null)
        {
            LogPullFailed(locator.Hash, $"no mount {request.MountUuid}");
            return;
        }

        var token = _secrets.DataManagerToken ?? "";
        var signed = _secrets.Signer is { } signer && token.Length > 0
            ? signer.Sign(locator.Size is { } size ? $"{locator.Hash}+{size}" : locator.Hash, token, _time.GetUtcNow().AddMinutes(1))
            : locator.Text;

        foreach (var server in request.Servers ?? [])
        {
            var root = server.Contains("://", StringComparison.Ordinal) ? server : $"http://{server}";
            try
            {
                using var get = new HttpRequestMessage(HttpMethod.Get, $"{root.TrimEnd('/')}/{signed}");
                if (token.Length > 0)
                {
                    get.Headers.TryAddWithoutValidation("Authorization", $"OAuth2 {token}");
                }

                using var response = await PullClient.SendAsync(get, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    LogPullFailed(locator.Hash, $"{server} answered {(int)response.StatusCode}");
                    continue;
                }

                var length = response.Content.Headers.ContentLength;
                if (length is null or < 0 or > BlockHash.MaxBlockSize)
                {
                    LogPullFailed(locator.Hash, $"{server} sent no usable Content-Length");
                    continue;
                }

                using var buffer = await _store.Buffers.RentAsync((int)length.Value, cancellationToken).ConfigureAwait(false);
                var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    await body.ReadExactlyAsync(buffer.Array.AsMemory(0, (int)length.Value), cancellationToken).ConfigureAwait(false);
                }

                var block = buffer.Array.AsMemory(0, (int)length.Value);
                if (!BlockStore.HashMatches(locator.Hash, block.Span))
                {
                    throw KeepFailure.RequestHashMismatch;
                }

                await _store.PutAsync(locator.Hash, block, target, cancellationToken).ConfigureAwait(false);
                LogPulled(locator.Hash, server);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogPullFailed(locator.Hash, $"{server}: {e.Message}");
            }
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Volume}: emptying trash failed: {Reason}")]
    private partial void LogEmptyTrashFailed(string volume, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "trash list asks to trash {Hash}: skipped, -never-delete is on")]
    private partial void LogTrashNeverDelete(string hash);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Volume}: trashed {Hash}, unless younger than the signature TTL")]
    private partial void LogTrashed(string volume, string hash);

    [LoggerMessage(Level = LogLevel.Information, Message = "pulled {Hash} from {Server}")]
    private partial void LogPulled(string hash, string server);

    [LoggerMessage(Level = LogLevel.Warning, Message = "pull of {Hash} failed: {Reason}")]
    private partial void LogPullFailed(string hash, string reason);
}
