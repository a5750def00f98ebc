using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Repository.Locks;

public class ConcurrentWriterTests
{
    [TestCase(false)]
    [TestCase(true)]
    public async Task Two_processes_back_up_into_one_store_at_once_and_both_restore(bool azure)
    {
        using var temp = new TemporaryDirectory("concurrent");
        var (coffer, store) = await LifecycleCli.StoreAsync(temp, azure);
        var a = temp.Combine("a");
        var b = temp.Combine("b");
        LifecycleCli.BuildTree(a, seed: 1, files: 24, size: 700_000);
        LifecycleCli.BuildTree(b, seed: 2, files: 24, size: 700_000);

        var results = await Task.WhenAll(coffer.RunAsync("at", store, "backup", a), coffer.RunAsync("at", store, "backup", b));
        foreach (var result in results)
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
        }

        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(check.Output, Does.StartWith("check ok: 2 snapshots"), check.ToString());
        foreach (var (result, source) in results.Zip([a, b]))
        {
            var restored = temp.Combine("restored-" + Path.GetFileName(source));
            var restore = await coffer.RunAsync("at", store, "restore", "-to", restored, LifecycleCli.SnapshotId(result));
            Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
            TreeAssert.AreEqual(source, restored, compareRootMtime: false);
        }
    }
}
