using System.Runtime.CompilerServices;
using Coffer.Abstractions;

namespace Coffer.Keep;

/// <summary>
/// A volume as the server mounts it: its place in the command line, a stable mount id, and, under
/// <c>-serialize</c>, a gate that lets one operation at a time reach it.
/// </summary>
/// <remarks>
/// The host is the one owner of <c>-serialize</c> and <c>-readonly</c> for every volume (docs/abi.md, "Who
/// enforces each volume rule"): volumes get the settings only as advice, so every call reaches a volume through
/// <see cref="RunAsync{T}"/> or <see cref="IndexAsync"/>, and nothing changes a volume that
/// <see cref="IsReadOnly"/> (the server only changes <see cref="KeepVolumeSet.Writable"/> ones).
/// </remarks>
internal sealed class KeepMount : IAsyncDisposable
{
    private readonly SemaphoreSlim? _serializer;

    public KeepMount(int index, KeepVolumeSpec spec, IVolume volume)
    {
        Index = index;
        Spec = spec;
        Volume = volume;

        // keepstore's mount ids look like Arvados object ids; the position on the command line keeps
        // them stable across restarts with the same run script.
        Uuid = spec.Uuid ?? $"zzzzz-ivpuk-{index:x15}";
        StorageClasses = spec.StorageClasses is { Count: > 0 } classes ? classes : DefaultStorageClasses;
        _serializer = spec.Serialize ? new SemaphoreSlim(1, 1) : null;
    }

    /// <summary>keepstore's storage class for a volume that names none.</summary>
    public static IReadOnlyList<string> DefaultStorageClasses { get; } = ["default"];

    public int Index { get; }

    /// <summary>The storage classes this volume serves (<c>default</c> unless configured).</summary>
    public IReadOnlyList<string> StorageClasses { get; }

    public string Uuid { get; }

    public KeepVolumeSpec Spec { get; }

    public IVolume Volume { get; }

    /// <summary>Read-only by flag or by the backend's own nature (e.g. anonymous access): never written, touched or trashed.</summary>
    public bool IsReadOnly => Spec.ReadOnly || Volume.IsReadOnly;

    public int Replication => Spec.Replication ?? Volume.Replication;

    public string Label => Volume.Description;

    /// <summary>Where volume operations are counted (<c>/metrics</c>); null counts nothing.</summary>
    public KeepMetrics? Metrics { get; set; }

    /// <summary>Runs one volume operation, alone when the volume is serialized.</summary>
    /// <param name="operation">The operation.</param>
    /// <param name="cancellationToken">Cancels it.</param>
    /// <param name="expression">The operation's source text, filled in by the compiler: names it in the metrics.</param>
    public async Task<T> RunAsync<T>(Func<IVolume, CancellationToken, Task<T>> operation, CancellationToken cancellationToken, [CallerArgumentExpression(nameof(operation))] string expression = "")
    {
        try
        {
            T result;
            if (_serializer is null)
            {
                result = await operation(Volume, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _serializer.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    result = await operation(Volume, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _serializer.Release();
                }
            }

            Metrics?.VolumeOperation(Volume.DeviceId, expression, null);
            return result;
        }
        catch (Exception e) when (Metrics is not null && e is not NotFoundException and not OperationCanceledException)
        {
            Metrics.VolumeOperation(Volume.DeviceId, expression, e);
            throw;
        }
        catch (NotFoundException) when (Metrics is not null)
        {
            // A block this volume does not have is an answer, not an error.
            Metrics.VolumeOperation(Volume.DeviceId, expression, null);
            throw;
        }
    }

    /// <summary>Runs one volume operation that returns nothing, alone when the volume is serialized.</summary>
    public Task RunAsync(Func<IVolume, CancellationToken, Task> operation, CancellationToken cancellationToken, [CallerArgumentExpression(nameof(operation))] string expression = "") =>
        RunAsync<bool>(async (volume, ct) =>
        {
            await operation(volume, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken, expression);

    /// <summary>
    /// Lists the volume's blocks, alone when the volume is serialized: the gate is held for each step of the
    /// listing, never while the caller handles what it got (an index goes out to a client at the client's pace).
    /// </summary>
    public async IAsyncEnumerable<BlockInfo> IndexAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long count = 0, bytes = 0;
        var blocks = Volume.IndexAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (blocks.ConfigureAwait(false))
        {
            while (await RunAsync(async (_, _) => await blocks.MoveNextAsync().ConfigureAwait(false), cancellationToken, "v.IndexAsync(").ConfigureAwait(false))
            {
                count++;
                bytes += blocks.Current.Size;
                yield return blocks.Current;
            }
        }

        if (prefix.Length == 0)
        {
            // A whole index, to its end: what status reports for a volume that cannot count its blocks cheaply.
            LastIndexPass = new IndexPass(count, bytes, DateTimeOffset.UtcNow);
        }
    }

    /// <summary>The block count and bytes of the last complete index of this volume (keep-balance asks for one regularly); null before any.</summary>
    public IndexPass? LastIndexPass { get; private set; }

    public override string ToString() => Label;

    public async ValueTask DisposeAsync()
    {
        await Volume.DisposeAsync().ConfigureAwait(false);
        _serializer?.Dispose();
    }
}

/// <summary>What one complete index of a volume counted.</summary>
internal sealed record IndexPass(long Blocks, long Bytes, DateTimeOffset At);

/// <summary>The mounted volumes in command-line order, and the round-robin choice of where a new block goes.</summary>
internal sealed class KeepVolumeSet : IAsyncDisposable
{
    private int _nextWritable = -1;

    public KeepVolumeSet(IReadOnlyList<KeepMount> mounts, bool rendezvous = false)
    {
        All = mounts;
        Rendezvous = rendezvous;
        Writable = mounts.Where(m => !m.IsReadOnly).ToList();
        AnySerialized = mounts.Any(m => m.Spec.Serialize);
    }

    /// <summary>
    /// True when each block's volumes are tried in rendezvous order (today's keepstore, the config dialect), so every
    /// server with the same volumes orders them alike; false for the flag dialect's command-line order and
    /// round-robin writes.
    /// </summary>
    public bool Rendezvous { get; }

    /// <summary>True when some volume does one I/O at a time (<c>-serialize</c>).</summary>
    public bool AnySerialized { get; }

    public IReadOnlyList<KeepMount> All { get; }

    public IReadOnlyList<KeepMount> Writable { get; }

    /// <summary>The next writable volume in turn, or null when none is writable.</summary>
    public KeepMount? NextWritable()
    {
        if (Writable.Count == 0)
        {
            return null;
        }

        var turn = (uint)Interlocked.Increment(ref _nextWritable);
        return Writable[(int)(turn % (uint)Writable.Count)];
    }

    public KeepMount? Find(string uuid) => All.FirstOrDefault(m => m.Uuid == uuid);

    /// <summary>The order in which <paramref name="mounts"/> are tried for the block: as given, or by rendezvous.</summary>
    public IReadOnlyList<KeepMount> OrderFor(string hash, IReadOnlyList<KeepMount> mounts) =>
        Rendezvous ? RendezvousOrder(hash, mounts) : mounts;

    /// <summary>
    /// keepstore's rendezvous order: descending priority (the highest <c>Priority</c> of the mount's storage
    /// classes), then ascending lower-case hex MD5 of the block hash followed by the mount UUID without its
    /// <c>zzzzz-nyw5e-</c> prefix (for a 27-character UUID).
    /// </summary>
    public static IReadOnlyList<KeepMount> RendezvousOrder(string hash, IReadOnlyList<KeepMount> mounts)
    {
        var key = hash.Length > 32 ? hash[..32] : hash;
        return mounts
            .OrderByDescending(m => m.Spec.Priority)
            .ThenBy(m => BlockHash.Compute(System.Text.Encoding.UTF8.GetBytes(key + (m.Uuid.Length == 27 ? m.Uuid[12..] : m.Uuid))), StringComparer.Ordinal)
            .ToList();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var mount in All)
        {
            await mount.DisposeAsync().ConfigureAwait(false);
        }
    }
}
