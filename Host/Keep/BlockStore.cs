using Coffer.Abstractions;
using Microsoft.Extensions.Logging;

namespace Coffer.Host.Keep;

/// <summary>
/// Block reads and writes across the mounted volumes, as keepstore does them: reads try each volume in
/// order and serve only a copy whose MD5 matches; writes verify the MD5, touch an identical copy that
/// already exists, and otherwise go round-robin to a writable volume that has room.
/// </summary>
internal sealed partial class BlockStore
{
    private readonly KeepVolumeSet _volumes;
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
            foreach (var mount in _volumes.All)
            {
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
                    LogCorruptCopy(mount.Label, hash);
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

    /// <summary>Stores a block the client sent.</summary>
    /// <param name="hash">The hash the client named it by.</param>
    /// <param name="data">The content.</param>
    /// <param name="target">The one mount to use, or null for any writable one.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The replication of the volume that holds the block.</returns>
    /// <exception cref="KeepFailure">422 hash mismatch, 500 collision or failure, 507 all full.</exception>
    public async Task<int> PutAsync(string hash, ReadOnlyMemory<byte> data, KeepMount? target, CancellationToken cancellationToken)
    {
        if (!HashMatches(hash, data.Span))
        {
            throw KeepFailure.RequestHashMismatch;
        }

        var writable = target is null ? _volumes.Writable : target.IsReadOnly ? [] : [target];
        if (writable.Count == 0)
        {
            throw KeepFailure.Full;
        }

        var existing = await CompareAndTouchAsync(hash, data, writable, cancellationToken).ConfigureAwait(false);
        if (existing is { } replication)
        {
            return replication;
        }

        var first = target ?? _volumes.NextWritable()!;
        var allFull = true;
        foreach (var mount in writable.Skip(IndexOf(writable, first)).Concat(writable.Take(IndexOf(writable, first))))
        {
            try
            {
                await mount.RunAsync((v, ct) => v.WriteAsync(hash, data, ct), cancellationToken).ConfigureAwait(false);
                return mount.Replication;
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

    /// <summary>Finds an intact copy on a writable volume and touches it; a collision stops everything.</summary>
    private async Task<int?> CompareAndTouchAsync(string hash, ReadOnlyMemory<byte> data, IReadOnlyList<KeepMount> writable, CancellationToken cancellationToken)
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
                    LogCorruptCopy(mount.Label, hash);
                    continue;
            }

            try
            {
                await mount.RunAsync((v, ct) => v.TouchAsync(hash, ct), cancellationToken).ConfigureAwait(false);
                return mount.Replication;
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

    private static bool HashMatches(string hash, ReadOnlySpan<byte> data) =>
        string.Equals(BlockHash.Compute(data), hash, StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Volume}: stored copy of {Hash} is corrupt (its MD5 differs); not served")]
    private partial void LogCorruptCopy(string volume, string hash);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Volume}: {Hash} collides with different stored content")]
    private partial void LogCollision(string volume, string hash);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Volume}: full, {Hash} goes elsewhere")]
    private partial void LogFull(string volume, string hash);
}
