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
            File.WriteAllText(Path.Combine(source, "counter.txt"), i.ToString(System.Globalization.CultureInfo.InvariantCulture));
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
}
