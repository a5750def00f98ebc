using System.Collections.Concurrent;
using Coffer.Abstractions;
using Microsoft.Extensions.Logging;

namespace Coffer.Keep;

/// <summary>
/// Block reads and writes across the mounted volumes, as keepstore does them: reads try each volume in
/// order and serve only a copy whose MD5 matches; writes verify the MD5, touch an identical copy that
/// already exists, and otherwise go round-robin to a writable volume that has room.
/// </summary>
internal sealed partial class BlockStore
{
    // Enough to remember every corrupt copy of a sick disk without letting a flood of them grow memory.
    private const int MaxRememberedCorruptCopies = 10_000;

    private readonly KeepVolumeSet _volumes;

    // Copies found corrupt, with their mtime then: later reads skip them (so a client retrying after a
    // cut-off GET gets another volume's good copy) until the copy is written again.
    private readonly ConcurrentDictionary<(int Mount, string Hash), DateTimeOffset> _corruptCopies = new();
    private readonly BlockBufferPool _buffers;
    private readonly ILogger _logger;

    public BlockStore(KeepVolumeSet volumes, BlockBufferPool buffers, ILogger logger)
    {
        _volumes = volumes;
        _buffers = buffers;
        _logger = logger;
    }

    public KeepVolumeSet Volumes => _volumes;

    public BlockBufferPool Buffers => _buffers;

    /// <summary>Reads a good copy of a block into a rented buffer.</summary>
    /// <param name="hash">The block's MD5 hex.</param>
    /// <param name="sizeHint">The size the client expects, if it said; a buffer of that size is tried first.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The buffer (the caller disposes it) and the block's length.</returns>
    /// <exception cref="KeepFailure">404 when no volume has it, 500 when every copy found is corrupt.</exception>
    public async Task<(BlockBuffer Buffer, int Length)> ReadAsync(string hash, long? sizeHint, CancellationToken cancellationToken)
    {
        var capacity = sizeHint is > 0 and <= BlockHash.MaxBlockSize ? (int)sizeHint.Value : BlockHash.MaxBlockSize;
        var buffer = await RentAsync(capacity, cancellationToken).ConfigureAwait(false);
        try
        {
            var failure = KeepFailure.NotFound;
            foreach (var mount in _volumes.OrderFor(hash, _volumes.All))
            {
                if (await IsKnownCorruptAsync(mount, hash, cancellationToken).ConfigureAwait(false))
                {
                    failure = KeepFailure.DiskHashMismatch;
                    continue;
                }

                var (length, tooLarge) = await TryReadAsync(mount, hash, buffer, cancellationToken).ConfigureAwait(false);
                if (tooLarge && buffer.Capacity < BlockHash.MaxBlockSize)
                {
                    // The size hint was wrong; a full-size buffer settles it.
                    buffer.Dispose();
                    buffer = await RentAsync(BlockHash.MaxBlockSize, cancellationToken).ConfigureAwait(false);
                    (length, _) = await TryReadAsync(mount, hash, buffer, cancellationToken).ConfigureAwait(false);
                }

                if (length < 0)
                {
                    continue;
                }

                if (!HashMatches(hash, buffer.Array.AsSpan(0, length)))
                {
                    await RememberCorruptAsync(mount, hash, "its MD5 differs", cancellationToken).ConfigureAwait(false);
                    failure = KeepFailure.DiskHashMismatch;
                    continue;
                }

                return (buffer, length);
            }

            throw failure;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads a good copy of a block of known size through <paramref name="sink"/>, which discards it and checks
    /// its MD5 (a HEAD's check without a block buffer). A missing or corrupt copy falls back to the next volume.
    /// </summary>
    /// <param name="hash">The block's MD5 hex.</param>
    /// <param name="sink">Counts and verifies the content.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>True when a whole, verified copy went through the sink; false when the block's length is not the
    /// sink's (the size hint was wrong).</returns>
    /// <exception cref="KeepFailure">404 when no volume has it, 500 when the copies found are corrupt.</exception>
    public async Task<bool> StreamAsync(string hash, VerifyingBlockStream sink, CancellationToken cancellationToken)
    {
        var failure = KeepFailure.NotFound;
        foreach (var mount in _volumes.OrderFor(hash, _volumes.All))
        {
            if (await IsKnownCorruptAsync(mount, hash, cancellationToken).ConfigureAwait(false))
            {
                failure = KeepFailure.DiskHashMismatch;
                continue;
            }

            sink.Restart();
            try
            {
                await mount.RunAsync((v, ct) => v.ReadAsync(hash, sink, ct), cancellationToken).ConfigureAwait(false);
                mount.Metrics?.VolumeBytes(mount.Volume.DeviceId, "out", sink.Length);
                sink.Finish();
                return true;
            }
            catch (NotFoundException)
            {
            }
            catch (Exception e) when (sink.SizeMismatch)
            {
                // The copy is the block and the client's locator is wrong: nothing to remember about the copy.
                LogSizeHintWrong(mount.Label, hash, e.Message);
                return false;
            }
            catch (Exception) when (sink.Corruption is { } reason)
            {
                await RememberCorruptAsync(mount, hash, reason, cancellationToken).ConfigureAwait(false);
                failure = KeepFailure.DiskHashMismatch;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                KeepLog.VolumeOperationFailed(_logger, mount.Label, "read", hash, e.Message);
            }
        }

        throw failure;
    }

    /// <summary>Stores a block whose content the caller has checked against its hash (an HTTP PUT hashes the body as it arrives).</summary>
    /// <param name="hash">The hash the client named it by.</param>
    /// <param name="data">The content.</param>
    /// <param name="target">The one mount to use, or null for any writable one.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The mount that holds the block (written or touched there).</returns>
    /// <exception cref="KeepFailure">500 collision or failure, 507 all full.</exception>
    public async Task<KeepMount> PutAsync(string hash, ReadOnlyMemory<byte> data, KeepMount? target, CancellationToken cancellationToken)
    {

        var writable = target is null ? _volumes.Writable : target.IsReadOnly ? [] : [target];
        if (writable.Count == 0)
        {
            throw KeepFailure.Full;
        }

        var existing = await CompareAndTouchAsync(hash, data, writable, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return existing;
        }

        var first = target ?? _volumes.NextWritable()!;
        var allFull = true;
        foreach (var mount in writable.Skip(IndexOf(writable, first)).Concat(writable.Take(IndexOf(writable, first))))
        {
            try
            {
                await mount.RunAsync((v, ct) => v.WriteAsync(hash, data, ct), cancellationToken).ConfigureAwait(false);
                mount.Metrics?.VolumeBytes(mount.Volume.DeviceId, "in", data.Length);
                _corruptCopies.TryRemove((mount.Index, hash), out _);
                return mount;
            }
            catch (StorageFullException)
            {
                LogFull(mount.Label, hash);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                allFull = false;
                KeepLog.VolumeOperationFailed(_logger, mount.Label, "write", hash, e.Message);
            }
        }

        throw allFull ? KeepFailure.Full : KeepFailure.Generic;
    }

    /// <summary>
    /// Stores a block as today's keepstore does (the config dialect): the writable mounts in rendezvous order, an
    /// intact copy touched rather than written again, until a copy is stored on a mount of each requested storage
    /// class (or, with none requested, on one mount).
    /// </summary>
    /// <param name="hash">The block's hash, checked by the caller.</param>
    /// <param name="data">The content.</param>
    /// <param name="classes">The storage classes the client asked for (<c>X-Keep-Storage-Classes</c>); empty for any.</param>
    /// <param name="cancellationToken">Cancels the writes.</param>
    /// <returns>The mounts holding the block now, in the order they were used.</returns>
    /// <exception cref="KeepFailure">500 collision or failure, 507 all full.</exception>
    public async Task<IReadOnlyList<KeepMount>> PutByClassAsync(string hash, ReadOnlyMemory<byte> data, IReadOnlyList<string> classes, CancellationToken cancellationToken)
    {
        var remaining = new HashSet<string>(classes, StringComparer.Ordinal);
        var stored = new List<KeepMount>();
        var allFull = true;
        foreach (var mount in _volumes.OrderFor(hash, _volumes.Writable))
        {
            if (classes.Count == 0 ? stored.Count > 0 : remaining.Count == 0)
            {
                break;
            }

            if (classes.Count > 0 && !mount.StorageClasses.Any(remaining.Contains))
            {
                continue;
            }

            try
            {
                var comparison = await CompareAsync(mount, hash, data, cancellationToken).ConfigureAwait(false);
                if (comparison == BlockComparison.Collision)
                {
                    LogCollision(mount.Label, hash);
                    throw KeepFailure.Collision;
                }

                if (comparison == BlockComparison.Identical)
                {
                    await mount.RunAsync((v, ct) => v.TouchAsync(hash, ct), cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await mount.RunAsync((v, ct) => v.WriteAsync(hash, data, ct), cancellationToken).ConfigureAwait(false);
                    mount.Metrics?.VolumeBytes(mount.Volume.DeviceId, "in", data.Length);
                    _corruptCopies.TryRemove((mount.Index, hash), out _);
                }

                stored.Add(mount);
                remaining.ExceptWith(mount.StorageClasses);
            }
            catch (StorageFullException)
            {
                LogFull(mount.Label, hash);
            }
            catch (Exception e) when (e is not KeepFailure && (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
            {
                allFull = false;
                KeepLog.VolumeOperationFailed(_logger, mount.Label, "write", hash, e.Message);
            }
        }

        return stored.Count > 0 ? stored : throw (allFull ? KeepFailure.Full : KeepFailure.Generic);
    }

    /// <summary>How the mount's copy compares with the data; <see cref="BlockComparison.Corrupt"/> stands for none too.</summary>
    private async Task<BlockComparison> CompareAsync(KeepMount mount, string hash, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        try
        {
            var comparison = await mount.RunAsync((v, ct) => v.CompareAsync(hash, data, ct), cancellationToken).ConfigureAwait(false);
            if (comparison == BlockComparison.Corrupt)
            {
                await RememberCorruptAsync(mount, hash, "its MD5 differs", cancellationToken).ConfigureAwait(false);
            }

            return comparison;
        }
        catch (NotFoundException)
        {
            return BlockComparison.Corrupt;
        }
    }

    /// <summary>Finds an intact copy on a writable volume and touches it; a collision stops everything.</summary>
    private async Task<KeepMount?> CompareAndTouchAsync(string hash, ReadOnlyMemory<byte> data, IReadOnlyList<KeepMount> writable, CancellationToken cancellationToken)
    {
        foreach (var mount in writable)
        {
            BlockComparison comparison;
            try
            {
                comparison = await mount.RunAsync((v, ct) => v.CompareAsync(hash, data, ct), cancellationToken).ConfigureAwait(false);
            }
            catch (NotFoundException)
            {
                continue;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                KeepLog.VolumeOperationFailed(_logger, mount.Label, "compare", hash, e.Message);
                continue;
            }

            switch (comparison)
            {
                case BlockComparison.Collision:
                    // With two contents under one hash nobody could tell which is wanted: store neither.
                    LogCollision(mount.Label, hash);
                    throw KeepFailure.Collision;
                case BlockComparison.Corrupt:
                    // The corrupt copy is overwritten when round-robin lands on it, or shadowed by a good one.
                    await RememberCorruptAsync(mount, hash, "its MD5 differs", cancellationToken).ConfigureAwait(false);
                    continue;
            }

            try
            {
                await mount.RunAsync((v, ct) => v.TouchAsync(hash, ct), cancellationToken).ConfigureAwait(false);
                return mount;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                KeepLog.VolumeOperationFailed(_logger, mount.Label, "touch", hash, e.Message);
            }
        }

        return null;
    }

    private async Task<(int Length, bool TooLarge)> TryReadAsync(KeepMount mount, string hash, BlockBuffer buffer, CancellationToken cancellationToken)
    {
        try
        {
            var length = await mount.RunAsync(async (v, ct) =>
            {
                using var fill = buffer.OpenFill();
                await v.ReadAsync(hash, fill, ct).ConfigureAwait(false);
                return (int)fill.Length;
            }, cancellationToken).ConfigureAwait(false);
            mount.Metrics?.VolumeBytes(mount.Volume.DeviceId, "out", length);
            return (length, false);
        }
        catch (NotFoundException)
        {
            return (-1, false);
        }
        catch (BlockTooLargeException)
        {
            return (-1, true);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            KeepLog.VolumeOperationFailed(_logger, mount.Label, "read", hash, e.Message);
            return (-1, false);
        }
    }

    /// <summary>True when this copy was found corrupt before and has not been written since (same mtime).</summary>
    private async Task<bool> IsKnownCorruptAsync(KeepMount mount, string hash, CancellationToken cancellationToken)
    {
        if (_corruptCopies.IsEmpty || !_corruptCopies.TryGetValue((mount.Index, hash), out var mtimeThen))
        {
            return false;
        }

        try
        {
            var mtime = await mount.RunAsync((v, ct) => v.GetMtimeAsync(hash, ct), cancellationToken).ConfigureAwait(false);
            if (mtime == mtimeThen)
            {
                return true;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Gone or unreadable: reading it again tells what it is now.
        }

        _corruptCopies.TryRemove((mount.Index, hash), out _);
        return false;
    }

    /// <summary>Logs a corrupt copy and remembers it, so later reads skip it until it is written again.</summary>
    private async Task RememberCorruptAsync(KeepMount mount, string hash, string reason, CancellationToken cancellationToken)
    {
        LogCorruptCopy(mount.Label, hash, reason);
        try
        {
            var mtime = await mount.RunAsync((v, ct) => v.GetMtimeAsync(hash, ct), cancellationToken).ConfigureAwait(false);
            if (_corruptCopies.Count >= MaxRememberedCorruptCopies)
            {
                _corruptCopies.Clear();
            }

            _corruptCopies[(mount.Index, hash)] = mtime;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Not remembered: the next read checks the copy again, which is merely slower.
        }
    }

    private async Task<BlockBuffer> RentAsync(int size, CancellationToken cancellationToken)
    {
        try
        {
            return await _buffers.RentAsync(size, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw KeepFailure.ClientDisconnected;
        }
    }

    private static int IndexOf(IReadOnlyList<KeepMount> mounts, KeepMount mount)
    {
        for (var i = 0; i < mounts.Count; i++)
        {
            if (ReferenceEquals(mounts[i], mount))
            {
                return i;
            }
        }

        return 0;
    }

    /// <summary>Whether <paramref name="data"/> is the block named <paramref name="hash"/>.</summary>
    public static bool HashMatches(string hash, ReadOnlySpan<byte> data) =>
        string.Equals(BlockHash.Compute(data), hash, StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Volume}: stored copy of {Hash} is corrupt ({Reason}); not served, skipped until written again")]
    private partial void LogCorruptCopy(string volume, string hash, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Volume}: {Hash}: {Reason}")]
    private partial void LogSizeHintWrong(string volume, string hash, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Volume}: {Hash} collides with different stored content")]
    private partial void LogCollision(string volume, string hash);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Volume}: full, {Hash} goes elsewhere")]
    private partial void LogFull(string volume, string hash);
}
