using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

/// <summary>
/// File names are bytes: names and a symlink target that are not UTF-8, and a path over PATH_MAX, through
/// backup, ls, find, diff and restore as a user types them, compared with a raw listing (Python's byte paths).
/// </summary>
public class RawNameTests
{
    [Test]
    public async Task Names_that_are_not_utf8_and_a_path_over_path_max_round_trip_byte_exactly_and_show_escaped_on_one_line()
    {
        using var temp = new TemporaryDirectory("raw-names");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "plain.txt"), "plain");
        var before = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));
        RawTree.Create(source);

        var backup = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());
        var id = LifecycleCli.SnapshotId(backup);

        var ls = await coffer.RunAsync("at", store, "ls", id, "-r");
        Assert.That(ls.ExitCode, Is.Zero, ls.ToString());
        Assert.That(ls.Output, Does.Contain("  \"f\\xffo\"\n").And.Contain("  \"lone\\x80\"\n").And.Contain("  \"over\\xc0\\xaf/cut\\xe2\\x82\"\n"), ls.ToString());
        Assert.That(ls.Output, Does.Contain("  \"over\\xc0\\xaf/link\\xff\" -> \"../t\\xc0\\xafrget\\x80\"\n"), ls.ToString());
        Assert.That(ls.Output, Does.Contain("/deep\\xff.txt\"\n"), ls.ToString());
        Assert.That(ls.Output, Does.Not.Contain("\uFFFD"), "no byte is replaced");

        var find = await coffer.RunAsync("at", store, "find", "deep*");
        Assert.That(find.Output.TrimEnd().Split('\n'), Has.One.EndsWith("/deep\\xff.txt\""), find.ToString());
        var diff = await coffer.RunAsync("at", store, "diff", before, id);
        Assert.That(diff.Output, Does.Contain("\"f\\xffo\"\n").And.Contain("over\\xc0\\xaf/link\\xff\"\n"), diff.ToString());
        Assert.That(diff.Output.Split('\n').Where(l => l.Contains("xffo", StringComparison.Ordinal)), Has.One.StartsWith("+ "), diff.ToString());

        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", store, "restore", id, "-to", restored);
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        Assert.That(RawTree.Listing(restored), Is.EqualTo(RawTree.Listing(source)));

        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());
    }
}
