using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

public class RestoreLatestTests
{
    [TestCase(false)]
    [TestCase(true)]
    public async Task Restore_without_a_snapshot_restores_the_newest_of_any_source_and_names_it(bool azure)
    {
        using var temp = new TemporaryDirectory("restore-latest");
        var (coffer, store) = await LifecycleCli.StoreAsync(temp, azure);
        var older = temp.Combine("older");
        var newer = temp.Combine("newer");
        TreeAssert.BuildSample(older, seed: 1);
        TreeAssert.BuildSample(newer, seed: 2);
        File.WriteAllText(Path.Combine(newer, "only-in-newer.txt"), "newer\n");
        LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", older));
        var newest = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", newer));

        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", store, "restore", "-to", restored);

        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        Assert.That(restore.Output, Does.Match($"restoring the latest snapshot {newest}[0-9a-f]{{56}} \\({System.Text.RegularExpressions.Regex.Escape(newer)}, "), restore.ToString());
        TreeAssert.AreEqual(newer, restored, compareRootMtime: false);
    }

    [Test]
    public async Task Restore_without_a_snapshot_in_an_empty_store_or_without_a_destination_is_one_line_and_writes_nothing()
    {
        using var temp = new TemporaryDirectory("restore-latest");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);

        var restore = await coffer.RunAsync("at", store, "restore", "-to", temp.Combine("restored"));

        CofferCli.AssertOneLineFailure(restore, "no snapshot yet");
        Assert.That(Directory.Exists(temp.Combine("restored")), Is.False);

        // Without -to either, nothing says where: still a refusal, as before restore could go without a snapshot.
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "restore"), "-to DESTINATION");
    }
}
