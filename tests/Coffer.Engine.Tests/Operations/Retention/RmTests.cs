using System.Globalization;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Retention;

public class RmTests
{
    [Test]
    public async Task Rm_removes_by_id_by_policy_and_dry_run_touches_nothing()
    {
        using var temp = new TemporaryDirectory("rm");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        for (var i = 0; i < 3; i++)
        {
            File.WriteAllText(Path.Combine(source, "counter.txt"), i.ToString(CultureInfo.InvariantCulture));
            Assert.That((await coffer.RunAsync("at", store, "backup", source)).ExitCode, Is.Zero);
        }

        var ids = (await coffer.RunAsync("at", store, "ls")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..8]).ToList();
        Assert.That(ids, Has.Count.EqualTo(3));

        var dry = await coffer.RunAsync("at", store, "rm", "--keep-last", "2", "--dry-run");
        Assert.That(dry.ExitCode, Is.Zero, dry.ToString());
        Assert.That(dry.Output, Does.Contain($"would remove  {ids[0]}").And.Contain($"keep    {ids[2]}").And.Contain("(last)"), dry.ToString());
        Assert.That(Directory.GetFiles(Path.Combine(store, "snapshots")), Has.Length.EqualTo(3));

        var young = await coffer.RunAsync("at", store, "rm", "--older-than", "1h");
        Assert.That(young.Output, Does.Contain("0 snapshots removed"), young.ToString());

        var policy = await coffer.RunAsync("at", store, "rm", "--keep-last", "2");
        Assert.That(policy.Output, Does.Contain($"remove  {ids[0]}").And.Contain("1 snapshots removed"), policy.ToString());
        var byId = await coffer.RunAsync("at", store, "rm", ids[1]);
        Assert.That(byId.ExitCode, Is.Zero, byId.ToString());
        var left = (await coffer.RunAsync("at", store, "ls")).Output;
        Assert.That(left, Does.StartWith(ids[2]).And.Not.Contain(ids[1]), left);
        Assert.That((await coffer.RunAsync("at", store, "check")).ExitCode, Is.Zero);

        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "rm"), "nothing to remove");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "rm", "--older-than", "3 weeks"), "is not a duration");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "rm", "--keep-last", "1", ids[2]), "not both");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "rm", "ffffffff"), "no snapshot 'ffffffff'");
    }

    // On Azurite too (issue 16: each command on every connector), ending with the partial checks a cron job runs there.
    [TestCase(false)]
    [TestCase(true)]
    public async Task Rm_with_restic_rules_keeps_tagged_and_recent_snapshots_says_why_and_prunes(bool azure)
    {
        using var temp = new TemporaryDirectory("rm-restic");
        var (coffer, store) = await LifecycleCli.StoreAsync(temp, azure);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        string[][] tags = [["release"], [], []];
        for (var i = 0; i < 3; i++)
        {
            File.WriteAllText(Path.Combine(source, "counter.txt"), new string('x', 10_000 * (i + 1)));
            string[] args = ["at", store, "backup", source, .. tags[i].SelectMany(t => new[] { "--tag", t })];
            Assert.That((await coffer.RunAsync(args)).ExitCode, Is.Zero);
        }

        var ids = await SnapshotIdsAsync(coffer, store);
        Assert.That(ids, Has.Count.EqualTo(3));

        // All three are within the hour before the newest one.
        var within = await coffer.RunAsync("at", store, "rm", "--keep-within", "1h", "--dry-run");
        Assert.That(within.ExitCode, Is.Zero, within.ToString());
        Assert.That(within.Output, Does.Contain($"keep    {ids[0]}").And.Contain("(within 1h)").And.Contain("dry run: 0 snapshots would be removed"), within.ToString());

        var dry = await coffer.RunAsync("at", store, "rm", "--keep-tag", "release", "--keep-hourly", "1", "--dry-run", "--prune");
        Assert.That(dry.ExitCode, Is.Zero, dry.ToString());
        Assert.That(dry.Output, Does.Contain($"keep    {ids[0]}").And.Contain("(tag release)")
            .And.Contain($"keep    {ids[2]}").And.Contain("(hourly)")
            .And.Contain($"would remove  {ids[1]}").And.Contain("maintenance not run"), dry.ToString());
        Assert.That(await SnapshotIdsAsync(coffer, store), Is.EqualTo(ids), "a dry run removes nothing");

        // Grouping by tags makes the release snapshot its own group, so --keep-last 1 keeps it too.
        var grouped = await coffer.RunAsync("at", store, "rm", "--keep-last", "1", "--group-by", "host,paths,tags", "--prune");
        Assert.That(grouped.ExitCode, Is.Zero, grouped.ToString());
        Assert.That(grouped.Output, Does.Contain($"remove  {ids[1]}").And.Contain("1 snapshots removed; maintenance follows").And.Contain("snapshots use").And.Contain("deleted"), grouped.ToString());
        var left = (await coffer.RunAsync("at", store, "ls")).Output;
        Assert.That(left, Does.Contain(ids[0]).And.Contain(ids[2]).And.Not.Contain(ids[1]), left);
        Assert.That((await coffer.RunAsync("at", store, "check")).ExitCode, Is.Zero);

        // One group per host: the newest snapshot of the year alone stays.
        var byHost = await coffer.RunAsync("at", store, "rm", "--keep-yearly", "1", "--group-by", "host");
        Assert.That(byHost.Output, Does.Contain($"remove  {ids[0]}").And.Contain("(yearly)"), byHost.ToString());
        Assert.That((await coffer.RunAsync("at", store, "ls")).Output.Trim(), Does.StartWith(ids[2]).And.Not.Contain(ids[0]));

        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "rm", "--keep-within", "a week"), "is not a duration");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "rm", "--keep-last", "1", "--group-by", "user"), "is not a grouping");
        Assert.That(await SnapshotIdsAsync(coffer, store), Is.EqualTo(new[] { ids[2] }), "refused input removes nothing");

        // check --read-data-subset: the two halves read every pack once between them, and 100% reads them all.
        var read = new List<(int Read, int Of)>();
        foreach (var subset in new[] { "1/2", "2/2", "100%" })
        {
            var check = await coffer.RunAsync("at", store, "check", "--read-data-subset", subset);
            Assert.That(check.ExitCode, Is.Zero, check.ToString());
            var counts = System.Text.RegularExpressions.Regex.Match(check.Output, @"(\d+) of (\d+) packs read \(subset " + System.Text.RegularExpressions.Regex.Escape(subset) + @"\)");
            Assert.That(counts.Success, Is.True, check.ToString());
            read.Add((int.Parse(counts.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(counts.Groups[2].Value, CultureInfo.InvariantCulture)));
        }

        var packs = read[2].Of;
        Assert.That(read.Select(r => r.Of), Is.All.EqualTo(packs));
        Assert.That(packs, Is.GreaterThan(0));
        Assert.That(read[0].Read + read[1].Read, Is.EqualTo(packs), string.Join(", ", read));
        Assert.That(read[2].Read, Is.EqualTo(packs), string.Join(", ", read));
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "check", "--read-data-subset", "3/2"), "1 <= K <= N");
    }

    private static async Task<List<string>> SnapshotIdsAsync(CofferProcess coffer, string store) =>
        (await coffer.RunAsync("at", store, "ls")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..8]).ToList();
}
