using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Coffer.Abstractions;
using Coffer.Engine.Core;

namespace Coffer.Engine.Repository.Locks;

/// <summary>What a lock is taken for; decides which locks may be held together.</summary>
internal enum LockKind
{
    /// <summary>A backup: only adds objects.</summary>
    Backup,

    /// <summary>restore, check, export: read packs and must not see them vanish.</summary>
    Read,

    /// <summary>rm: removes snapshots.</summary>
    Remove,

    /// <summary>maintenance: rewrites the index, repacks and deletes packs (safe against backups, see docs/store-format.md).</summary>
    Maintenance,
}

/// <summary>The content of a lock object (sealed like every other object).</summary>
internal sealed record LockInfo
{
    public required string Kind { get; init; }

    public string Hostname { get; init; } = "";

    public string Username { get; init; } = "";

    public int Pid { get; init; }

    /// <summary>When the lock was taken.</summary>
    public DateTimeOffset Time { get; init; }

    /// <summary>When its holder last said it is alive.</summary>
    public DateTimeOffset Refreshed { get; init; }

    [JsonIgnore]
    public string Name { get; init; } = "";

    [JsonIgnore]
    public LockKind ParsedKind => Enum.TryParse<LockKind>(Kind, ignoreCase: true, out var k) ? k : LockKind.Remove;

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Kind.ToLowerInvariant()} by {Username}@{Hostname} (pid {Pid}) since {Time.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC");

    /// <summary>A lock is stale when not refreshed for <see cref="StoreLock.StaleAfter"/>, or when its holder on this host is gone.</summary>
    /// <param name="now">The current time.</param>
    /// <param name="hostName">The name of the host this runs on: only its processes can be looked up.</param>
    public bool IsStale(DateTimeOffset now, string hostName)
    {
        if (now - Refreshed > StoreLock.StaleAfter)
        {
            return true;
        }

        if (Hostname == hostName && Pid > 0)
        {
            try
            {
                using var process = Process.GetProcessById(Pid);
                return process.HasExited;
            }
            catch (ArgumentException)
            {
                return true;
            }
        }

        return false;
    }

    public static bool Compatible(LockKind a, LockKind b)
    {
        static bool Exclusive(LockKind k) => k is LockKind.Remove or LockKind.Maintenance;
        if (!Exclusive(a) && !Exclusive(b))
        {
            return true;
        }

        // Maintenance never deletes what a running backup may need (two-phase delete), so they may overlap.
        return (a, b) is (LockKind.Maintenance, LockKind.Backup) or (LockKind.Backup, LockKind.Maintenance);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(LockInfo))]
internal sealed partial class LockJsonContext : JsonSerializerContext;

/// <summary>A conflicting lock is held.</summary>
internal sealed class StoreLockedException : StoreException
{
    public StoreLockedException(string message) : base(message) { }
}

/// <summary>
/// A lock object in the store, held while a command works: written, then every other lock is read and
/// checked for a conflict (a conflict removes ours again and fails), refreshed every minute, removed at
/// the end. A lock not refreshed for 30 minutes, or held by a process of this host that no longer runs,
/// is stale and ignored (and removed by <c>unlock</c>).
/// </summary>
internal sealed class StoreLock : IAsyncDisposable
{
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan RefreshEvery = TimeSpan.FromMinutes(1);

    private readonly CofferStore _store;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private LockInfo _info;
    private Task? _refresher;

    private StoreLock(CofferStore store, TimeProvider time, LockInfo info)
    {
        _store = store;
        _time = time;
        _info = info;
    }

    public LockInfo Info => _info;

    /// <summary>Takes a lock of <paramref name="kind"/>, or fails with one line naming who holds a conflicting one.</summary>
    /// <param name="store">The store to lock.</param>
    /// <param name="kind">What the lock is for.</param>
    /// <param name="time">The clock the lock's times come from.</param>
    /// <param name="hostName">The name of the host this runs on, recorded in the lock.</param>
    /// <param name="unlockHint">How the user runs <c>unlock</c> on this store, for the message of a conflict.</param>
    /// <param name="cancellationToken">Cancels taking the lock.</param>
    public static async Task<StoreLock> AcquireAsync(CofferStore store, LockKind kind, TimeProvider time, string hostName, string unlockHint, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var info = new LockInfo
        {
            Kind = kind.ToString().ToLowerInvariant(),
            Hostname = hostName,
            Username = Environment.UserName,
            Pid = Environment.ProcessId,
            Time = now,
            Refreshed = now,
            Name = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
        };
        var held = new StoreLock(store, time, info);
        await held.WriteAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var other in await ListAsync(store, cancellationToken).ConfigureAwait(false))
            {
                if (other.Lock is null)
                {
                    if (other.Name != info.Name)
                    {
                        throw new StoreLockedException($"the store holds an unreadable lock {other.Name[..8]}: if no other coffer is working on it, run '{unlockHint} --remove-all'");
                    }

                    continue;
                }

                var l = other.Lock;
                if (l.Name == info.Name || LockInfo.Compatible(kind, l.ParsedKind) || l.IsStale(time.GetUtcNow(), hostName))
                {
                    continue;
                }

                throw new StoreLockedException($"the store is locked: {l.Describe()}; wait for it to finish, or if that process is gone run '{unlockHint}'");
            }
        }
        catch
        {
            await store.DeleteObjectAsync(StorageObjectClass.Lock, info.Name, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        held._refresher = held.RefreshLoopAsync();
        return held;
    }

    /// <summary>Every lock object in the store; <c>Lock</c> is null for one that cannot be read.</summary>
    public static async Task<List<(string Name, LockInfo? Lock)>> ListAsync(CofferStore store, CancellationToken cancellationToken)
    {
        var result = new List<(string, LockInfo?)>();
        await foreach (var item in store.ListObjectsAsync(StorageObjectClass.Lock, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                var bytes = await store.ReadObjectAsync(StorageObjectClass.Lock, item.Name, cancellationToken).ConfigureAwait(false);
                var info = JsonSerializer.Deserialize(store.Keys.OpenObject(bytes, Context(item.Name)), LockJsonContext.Default.LockInfo);
                result.Add((item.Name, info is null ? null : info with { Name = item.Name }));
            }
            catch (NotFoundException)
            {
                // Released between the listing and the read.
            }
            catch (Exception e) when (e is JsonException or CryptographicException or ArgumentException)
            {
                result.Add((item.Name, null));
            }
        }

        return result;
    }

    /// <summary>Removes the stale locks, or every lock when <paramref name="all"/> is set; returns the removed ones (<c>Lock</c> null for one that cannot be read).</summary>
    /// <param name="store">The store.</param>
    /// <param name="all">Remove every lock, not only stale ones (only when no other coffer works on the store).</param>
    /// <param name="time">The clock staleness is judged by.</param>
    /// <param name="hostName">The name of the host this runs on: its locks are stale once their process is gone.</param>
    /// <param name="cancellationToken">Cancels the removal; locks removed before stay removed.</param>
    public static async Task<IReadOnlyList<(string Name, LockInfo? Lock)>> RemoveStaleAsync(CofferStore store, bool all, TimeProvider time, string hostName, CancellationToken cancellationToken)
    {
        var removed = new List<(string, LockInfo?)>();
        var now = time.GetUtcNow();
        foreach (var (name, held) in await ListAsync(store, cancellationToken).ConfigureAwait(false))
        {
            if (all || held is null || held.IsStale(now, hostName))
            {
                await store.DeleteObjectAsync(StorageObjectClass.Lock, name, cancellationToken).ConfigureAwait(false);
                removed.Add((name, held));
            }
        }

        return removed;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_refresher is not null)
        {
            await _refresher.ConfigureAwait(false);
        }

        try
        {
            await _store.DeleteObjectAsync(StorageObjectClass.Lock, _info.Name, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ConnectorException or IOException)
        {
            // The store is unreachable: the lock goes stale and 'unlock' removes it.
        }

        _stop.Dispose();
    }

    private static string Context(string name) => $"coffer lock v1 {name}";

    /// <summary>Writes a lock object as it is (also how tests plant a lock of another host or a dead process).</summary>
    public static Task WriteAsync(CofferStore store, LockInfo info, CancellationToken cancellationToken)
    {
        var bytes = store.Keys.SealObject(JsonSerializer.SerializeToUtf8Bytes(info, LockJsonContext.Default.LockInfo), Context(info.Name));
        return store.PutObjectAsync(StorageObjectClass.Lock, info.Name, new MemoryStream(bytes, writable: false), cancellationToken);
    }

    private Task WriteAsync(CancellationToken cancellationToken) => WriteAsync(_store, _info, cancellationToken);

    private async Task RefreshLoopAsync()
    {
        using var timer = new PeriodicTimer(RefreshEvery, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                _info = _info with { Refreshed = _time.GetUtcNow() };
                try
                {
                    await WriteAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is ConnectorException or IOException)
                {
                    // Try again at the next tick; the lock only goes stale after many missed refreshes.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
