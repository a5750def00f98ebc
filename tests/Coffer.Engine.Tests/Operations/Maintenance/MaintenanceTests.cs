using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Locks;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Maintenance;

public class MaintenanceTests
{
    private ConnectorCatalog _catalog = null!;

    [OneTimeSetUp]
    public void Load() => _catalog = EngineHarness.LoadBundled();

    [OneTimeTearDown]
    public void Unload() => _catalog.Dispose();

    private static long StoreBytes(string store) =>
        new DirectoryInfo(Path.Combine(store, "packfiles")).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    [Test]
    public async Task Rm_then_maintenance_shrinks_the_store_repacks_sparse_packs_and_keeps_the_rest_intact()
    {
        using var temp = new TemporaryDirectory("maintenance");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        LifecycleCli.BuildTree(source, seed: 3, files: 16, size: 600_000);
        var first = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));

        // Keep 3 of the 16 files: the first snapshot's data pack becomes sparse.
        foreach (var file in Directory.GetFiles(source, "f*.bin", SearchOption.AllDirectories).Where(f => !f.EndsWith("f1.bin", StringComparison.Ordinal) && !f.EndsWith("f2.bin", StringComparison.Ordinal) && !f.EndsWith("f3.bin", StringComparison.Ordinal)))
        {
            File.Delete(file);
        }

        var second = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));
        var other = temp.Combine("other");
        LifecycleCli.BuildTree(other, seed: 4, files: 8, size: 500_000, shared: 9);
        var third = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", other));
        var before = StoreBytes(store);

        Assert.That((await coffer.RunAsync("at", store, "rm", first, third)).ExitCode, Is.Zero);
        var dry = await coffer.RunAsync("at", store, "maintenance", "--dry-run");
        Assert.That(dry.Output, Does.Contain("dry run: 3 unused packs would be deleted, 1 sparse packs repacked"), dry.ToString());
        Assert.That(StoreBytes(store), Is.EqualTo(before));

        var maintenance = await coffer.RunAsync("at", store, "maintenance");
        Assert.That(maintenance.ExitCode, Is.Zero, maintenance.ToString());
        Assert.That(maintenance.Output, Does.Contain("repacked 1 sparse packs").And.Contain("deleted 4 packs"), maintenance.ToString());
        var after = StoreBytes(store);
        Assert.That(after, Is.LessThan(before / 3), $"store {before} -> {after} bytes");
        Assert.That(Directory.GetFiles(Path.Combine(store, "index"), "*", SearchOption.AllDirectories), Has.Length.EqualTo(2), "the index is rewritten: one object for the packs kept, one for the repacked ones");

        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.Output, Does.StartWith("check ok: 1 snapshots"), check.ToString() + maintenance + string.Join("\n", Directory.GetFiles(store, "*", SearchOption.AllDirectories)));
        var restored = temp.Combine("restored");
        Assert.That((await coffer.RunAsync("at", store, "restore", "-to", restored, second)).ExitCode, Is.Zero);
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);

        var again = await coffer.RunAsync("at", store, "maintenance");
        Assert.That(again.Output, Does.Contain("repacked 0 sparse packs").And.Contain("deleted 0 packs"), again.ToString());
        Assert.That(StoreBytes(store), Is.EqualTo(after));
    }

    [Test]
    public async Task Maintenance_beside_a_running_backup_loses_none_of_its_blobs()
    {
        using var temp = new TemporaryDirectory("maintenance-concurrent");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var old = temp.Combine("old");
        LifecycleCli.BuildTree(old, seed: 5, files: 30, size: 1 << 20);
        var removed = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", old));
        Assert.That((await coffer.RunAsync("at", store, "rm", removed)).ExitCode, Is.Zero);

        // The new tree holds every file of the removed snapshot: the backup reuses blobs no snapshot
        // references while maintenance looks for unused packs.
        var current = temp.Combine("current");
        LifecycleCli.BuildTree(current, seed: 5, files: 30, size: 1 << 20);
        LifecycleCli.BuildTree(Path.Combine(current, "more"), seed: 6, files: 60, size: 1 << 20);
        var kept = temp.Combine("kept");
        LifecycleCli.BuildTree(kept, seed: 7, files: 4, size: 300_000);
        var keptId = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", kept));

        // The backup runs in this process over the real posix source and store, locked and indexed as the CLI does,
        // and pauses two thirds through its files (the reused ones are read first): maintenance runs beside it for sure.
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(store));
        var open = await CofferStore.OpenAsync(storage, await CofferStore.ReadConfigAsync(storage, CancellationToken.None), () => null!, CancellationToken.None, loadIndex: false);
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var files = await _catalog.CreateSourceAsync(new ConnectorConfiguration(current));
        var backup = Task.Run(async () =>
        {
            await using var held = await StoreLock.AcquireAsync(open, LockKind.Backup, TimeProvider.System, Environment.MachineName, "unlock", CancellationToken.None);
            await open.LoadIndexAsync(CancellationToken.None);
            return await EngineHarness.BackupAsync(open, new PausingSource(files, pauseAt: 60, reached, resume.Task), current);
        });
        await reached.Task.WaitAsync(TimeSpan.FromMinutes(2));

        // Twice while the backup waits: the first marks the unused packs, the second finds them marked; neither may delete them.
        var runs = new List<CofferResult> { await coffer.RunAsync("at", store, "maintenance"), await coffer.RunAsync("at", store, "maintenance") };
        var overlapped = !backup.IsCompleted;
        resume.SetResult();
        var maintenance = string.Join("\n", runs.Select(r => r.ToString()));
        Assert.That(overlapped, Is.True, "the backup was still waiting at its pause");
        foreach (var run in runs)
        {
            Assert.That(run.ExitCode, Is.Zero, maintenance);
            Assert.That(run.Output, Does.Contain("kept").And.Contain("a backup is running: backup by"), maintenance);
        }

        var backedUp = await backup;

        // After the backup, a second run deletes what is really unused and keeps what the backup reused.
        var second = await coffer.RunAsync("at", store, "maintenance");
        Assert.That(second.ExitCode, Is.Zero, second.ToString());
        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.Output, Does.StartWith("check ok: 2 snapshots"), check.ToString() + maintenance + second);
        foreach (var (id, source) in new[] { (backedUp.ShortId, current), (keptId, kept) })
        {
            var restored = temp.Combine("restored-" + id);
            var restore = await coffer.RunAsync("at", store, "restore", "-to", restored, id);
            Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
            TreeAssert.AreEqual(source, restored, compareRootMtime: false);
        }
    }
}
