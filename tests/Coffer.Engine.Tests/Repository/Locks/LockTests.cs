using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Diff;
using Coffer.Engine.Operations.Maintenance;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Operations.Retention;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Locks;
using Coffer.Engine.Repository.Packs;
using Coffer.Engine.Repository.Portable;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Repository.Locks;

public class LockTests
{
    private ConnectorCatalog _catalog = null!;

    [OneTimeSetUp]
    public void Load() => _catalog = EngineHarness.LoadBundled();

    [OneTimeTearDown]
    public void Unload() => _catalog.Dispose();

    internal static LockInfo Planted(string kind, string host, int pid, DateTimeOffset refreshed) => new()
    {
        Kind = kind,
        Hostname = host,
        Username = "someone",
        Pid = pid,
        Time = refreshed.AddMinutes(-5),
        Refreshed = refreshed,
        Name = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
    };

    [Test]
    public async Task Shared_locks_coexist_exclusive_ones_conflict_and_release_removes_them()
    {
        using var temp = new TemporaryDirectory("locks");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage);

        var backup = await StoreLock.AcquireAsync(store, LockKind.Backup, TimeProvider.System, Environment.MachineName, "unlock", CancellationToken.None);
        var maintenance = await StoreLock.AcquireAsync(store, LockKind.Maintenance, TimeProvider.System, Environment.MachineName, "unlock", CancellationToken.None);
        Assert.That(maintenance.Info.Kind, Is.EqualTo("maintenance"), "maintenance may run beside a backup");
        Assert.ThrowsAsync<StoreLockedException>(() => StoreLock.AcquireAsync(store, LockKind.Read, TimeProvider.System, Environment.MachineName, "unlock", CancellationToken.None));
        await maintenance.DisposeAsync();
        var read = await StoreLock.AcquireAsync(store, LockKind.Read, TimeProvider.System, Environment.MachineName, "unlock", CancellationToken.None);
        Assert.That(await StoreLock.ListAsync(store, CancellationToken.None), Has.Count.EqualTo(2));

        var refused = Assert.ThrowsAsync<StoreLockedException>(() => StoreLock.AcquireAsync(store, LockKind.Maintenance, TimeProvider.System, Environment.MachineName, "coffer unlock", CancellationToken.None));
        Assert.That(refused!.Message, Does.Match(@"^the store is locked: read by .+@.+ \(pid \d+\) since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; .*'coffer unlock'$"));
        Assert.That(await StoreLock.ListAsync(store, CancellationToken.None), Has.Count.EqualTo(2), "a refused lock is removed again");

        await read.DisposeAsync();
        var remove = Assert.ThrowsAsync<StoreLockedException>(() => StoreLock.AcquireAsync(store, LockKind.Remove, TimeProvider.System, Environment.MachineName, "unlock", CancellationToken.None));
        Assert.That(remove!.Message, Does.Contain("backup by"));
        await backup.DisposeAsync();

        await using var rm = await StoreLock.AcquireAsync(store, LockKind.Remove, TimeProvider.System, Environment.MachineName, "unlock", CancellationToken.None);
        Assert.ThrowsAsync<StoreLockedException>(() => StoreLock.AcquireAsync(store, LockKind.Backup, TimeProvider.System, Environment.MachineName, "unlock", CancellationToken.None));
    }

    [Test]
    public async Task Stale_locks_are_ignored_old_ones_and_those_of_dead_processes_of_this_host()
    {
        using var temp = new TemporaryDirectory("locks");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        var now = DateTimeOffset.UtcNow;

        // Another host, not refreshed for 31 minutes.
        await StoreLock.WriteAsync(store, Planted("maintenance", "elsewhere", 1, now.AddMinutes(-31)), CancellationToken.None);
        // This host, a process that has exited.
        using var gone = System.Diagnostics.Process.Start("true")!;
        await gone.WaitForExitAsync();
        await StoreLock.WriteAsync(store, Planted("rm", Environment.MachineName, gone.Id, now), CancellationToken.None);
        await using (await StoreLock.AcquireAsync(store, LockKind.Backup, TimeProvider.System, Environment.MachineName, "unlock", CancellationToken.None))
        {
        }

        // Another host, refreshed recently: alive as far as anyone can tell.
        await StoreLock.WriteAsync(store, Planted("rm", "elsewhere", 1, now.AddMinutes(-1)), CancellationToken.None);
        var refused = Assert.ThrowsAsync<StoreLockedException>(() => StoreLock.AcquireAsync(store, LockKind.Backup, TimeProvider.System, Environment.MachineName, "unlock", CancellationToken.None));
        Assert.That(refused!.Message, Does.Contain("rm by someone@elsewhere (pid 1)"));
    }

    [Test]
    public async Task Unlock_removes_the_lock_of_a_gone_process_only_on_its_own_host_and_returns_it()
    {
        using var temp = new TemporaryDirectory("locks");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        using var gone = System.Diagnostics.Process.Start("true")!;
        await gone.WaitForExitAsync();
        var planted = Planted("backup", "host-a", gone.Id, DateTimeOffset.UtcNow);
        await StoreLock.WriteAsync(store, planted, CancellationToken.None);

        // Seen from another host, a lock refreshed just now is alive as far as anyone can tell.
        Assert.That(await StoreLock.RemoveStaleAsync(store, all: false, TimeProvider.System, "host-b", CancellationToken.None), Is.Empty);

        var removed = await StoreLock.RemoveStaleAsync(store, all: false, TimeProvider.System, "host-a", CancellationToken.None);
        Assert.That(removed.Select(r => r.Lock?.Describe()), Is.EqualTo(new[] { planted.Describe() }));
        Assert.That(await StoreLock.ListAsync(store, CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task A_conflicting_lock_is_one_line_and_unlock_removes_stale_or_all_locks()
    {
        using var temp = new TemporaryDirectory("locks-cli");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);

        await using (var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(store)))
        {
            var opened = await EngineHarness.ReopenAsync(storage, "");
            await StoreLock.WriteAsync(opened, Planted("maintenance", "elsewhere", 4242, DateTimeOffset.UtcNow.AddHours(-2)), CancellationToken.None);
            await StoreLock.WriteAsync(opened, Planted("rm", "elsewhere", 77, DateTimeOffset.UtcNow), CancellationToken.None);
        }

        var refused = await coffer.RunAsync("at", store, "backup", source);
        CofferCli.AssertOneLineFailure(refused, "the store is locked: rm by someone@elsewhere (pid 77) since ");
        Assert.That(refused.Error, Does.Contain($"coffer at {store} unlock"));

        var unlock = await coffer.RunAsync("at", store, "unlock");
        Assert.That(unlock.ExitCode, Is.Zero, unlock.ToString());
        Assert.That(unlock.Output, Does.Contain("maintenance by someone@elsewhere").And.Contain("1 locks removed"), unlock.ToString());
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "backup", source), "rm by someone@elsewhere");

        var all = await coffer.RunAsync("at", store, "unlock", "--remove-all");
        Assert.That(all.Output, Does.Contain("1 locks removed"), all.ToString());
        var backup = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());
        Assert.That(Directory.GetFiles(Path.Combine(store, "locks")), Is.Empty, "a finished command leaves no lock");
    }
}
