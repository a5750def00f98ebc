using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Maintenance;

public class MaintenanceTests
{
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

        var backup = coffer.RunAsync("at", store, "backup", current);
        var locks = Path.Combine(store, "locks");
        while (Directory.GetFiles(locks).Length == 0 && !backup.IsCompleted)
        {
            await Task.Delay(20);
        }

        // Maintenance again and again while the backup runs.
        var runs = new List<CofferResult>();
        do
        {
            var run = await coffer.RunAsync("at", store, "maintenance");
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            runs.Add(run);
        }
        while (!backup.IsCompleted);

        var backedUp = await backup;
        Assert.That(backedUp.ExitCode, Is.Zero, backedUp.ToString());
        var maintenance = string.Join("\n", runs.Select(r => r.Output));
        Assert.That(runs[0].Output, Does.Contain("kept").And.Contain("a backup is running: backup by"), "the first maintenance overlapped the backup:\n" + maintenance);

        // After the backup, a second run deletes what is really unused and keeps what the backup reused.
        var second = await coffer.RunAsync("at", store, "maintenance");
        Assert.That(second.ExitCode, Is.Zero, second.ToString());
        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.Output, Does.StartWith("check ok: 2 snapshots"), check.ToString() + maintenance + second);
        foreach (var (id, source) in new[] { (LifecycleCli.SnapshotId(backedUp), current), (keptId, kept) })
        {
            var restored = temp.Combine("restored-" + id);
            var restore = await coffer.RunAsync("at", store, "restore", "-to", restored, id);
            Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
            TreeAssert.AreEqual(source, restored, compareRootMtime: false);
        }
    }
}
