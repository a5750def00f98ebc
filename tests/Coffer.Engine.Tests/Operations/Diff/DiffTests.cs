using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Diff;

public class DiffTests
{
    [Test]
    public async Task Diff_names_added_removed_and_modified_entries_with_what_changed()
    {
        using var temp = new TemporaryDirectory("diff");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        var first = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));

        var readme = Path.Combine(source, "readme.txt");
        var mtime = File.GetLastWriteTimeUtc(readme);
        File.WriteAllText(readme, "hello again\n");
        File.SetLastWriteTimeUtc(readme, mtime);
        File.SetUnixFileMode(Path.Combine(source, "run.sh"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        File.SetLastWriteTimeUtc(Path.Combine(source, "docs", "text.log"), mtime.AddDays(1));
        File.Delete(Path.Combine(source, "link-to-readme"));
        File.CreateSymbolicLink(Path.Combine(source, "link-to-readme"), "run.sh");
        Directory.Delete(Path.Combine(source, "docs", "deep"), recursive: true);
        File.WriteAllText(Path.Combine(source, "empty-dir", "new.txt"), "new\n");
        var second = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));

        var diff = await coffer.RunAsync("at", store, "diff", first, second);
        Assert.That(diff.ExitCode, Is.Zero, diff.ToString());
        var lines = diff.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Is.EquivalentTo(new[]
        {
            "- docs/deep",
            "- docs/deep/er",
            "- docs/deep/er/random.bin",
            "M docs/text.log (mtime)",
            "+ empty-dir/new.txt",
            "M link-to-readme (mtime, target)",
            "M readme.txt (content)",
            "M run.sh (mode)",
        }), diff.ToString());

        var sub = await coffer.RunAsync("at", store, "diff", $"{first}:docs", second);
        Assert.That(sub.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "- docs/deep", "- docs/deep/er", "- docs/deep/er/random.bin", "M docs/text.log (mtime)" }), sub.ToString());

        var same = await coffer.RunAsync("at", store, "diff", second, second);
        Assert.That(same.Output, Is.Empty, same.ToString());
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "diff", first, "ffffffff"), "no snapshot 'ffffffff'");
    }
}
