using Coffer.Engine.Operations.Check;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Check;

/// <summary><c>check --read-data-subset K/N|P%</c>: which packs a partial check reads.</summary>
public class ReadDataSubsetTests
{
    private static List<string> RandomPackIds(int count)
    {
        var random = new Random(16);
        return Enumerable.Range(0, count).Select(_ => Convert.ToHexStringLower(TreeAssert.Bytes(random, 32))).ToList();
    }

    private static PackSubset Parse(string text)
    {
        Assert.That(PackSubset.TryParse(text, out var subset, out var error), Is.True, error);
        return subset!;
    }

    [Test]
    public void K_of_n_over_every_k_reads_each_pack_exactly_once_and_always_the_same_ones()
    {
        var packs = RandomPackIds(1000);
        var read = Enumerable.Range(1, 7).SelectMany(k => Parse($"{k}/7").Select(packs, new Random(k))).ToList();
        Assert.That(read, Is.EquivalentTo(packs));
        Assert.That(Parse("3/7").Select(packs, new Random(1)), Is.EqualTo(Parse("3/7").Select(packs, new Random(2))));
        Assert.That(Enumerable.Range(1, 7).Select(k => Parse($"{k}/7").Select(packs, Random.Shared).Count), Is.All.InRange(100, 190));
    }

    [Test]
    public void A_percentage_reads_that_share_at_random_and_at_least_one_pack()
    {
        var packs = RandomPackIds(200);
        var first = Parse("10%").Select(packs, new Random(1));
        Assert.That(first, Has.Count.EqualTo(20).And.Unique);
        Assert.That(packs, Is.SupersetOf(first));
        Assert.That(Parse("10%").Select(packs, new Random(2)), Is.Not.EqualTo(first));
        Assert.That(Parse("0.1%").Select(packs, Random.Shared), Has.Count.EqualTo(1));
        Assert.That(Parse("100%").Select(packs, Random.Shared), Is.EquivalentTo(packs));
    }

    [TestCase("0/3")]
    [TestCase("4/3")]
    [TestCase("1/0")]
    [TestCase("150%")]
    [TestCase("0%")]
    [TestCase("half")]
    [TestCase("-1/3")]
    public void Bad_subsets_are_refused(string text)
    {
        Assert.That(PackSubset.TryParse(text, out _, out var error), Is.False);
        Assert.That(error, Does.Contain(text));
    }

    [Test]
    public async Task Each_of_the_n_subsets_alone_reports_a_damaged_pack_it_holds()
    {
        using var temp = new TemporaryDirectory("subset");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        File.WriteAllBytes(Path.Combine(source, "big.bin"), TreeAssert.Bytes(new Random(8), 24 << 20));
        Assert.That((await coffer.RunAsync("at", store, "backup", source)).ExitCode, Is.Zero);

        var packFiles = Directory.GetFiles(store, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f).Length == 64 && f[store.Length..].Contains("pack", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.That(packFiles, Has.Count.GreaterThan(1), string.Join("\n", Directory.GetFiles(store, "*", SearchOption.AllDirectories)));

        // Every subset reads packs, and together they read each pack once.
        var readCounts = new List<int>();
        for (var k = 1; k <= 3; k++)
        {
            var clean = await coffer.RunAsync("at", store, "check", "--read-data-subset", $"{k}/3");
            Assert.That(clean.ExitCode, Is.Zero, clean.ToString());
            var match = System.Text.RegularExpressions.Regex.Match(clean.Output, @"(\d+) of (\d+) packs read \(subset \d/3\)");
            Assert.That(match.Success, Is.True, clean.ToString());
            readCounts.Add(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.That(int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(packFiles.Count));
        }

        Assert.That(readCounts.Sum(), Is.EqualTo(packFiles.Count));

        // Damage one pack, keeping its length: the fast part of the check cannot see it, only a read can.
        var damaged = packFiles.OrderByDescending(f => new FileInfo(f).Length).First();
        await using (var stream = new FileStream(damaged, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length / 2;
            var b = stream.ReadByte();
            stream.Position = stream.Length / 2;
            stream.WriteByte((byte)(b ^ 0x55));
        }

        var failing = new List<int>();
        for (var k = 1; k <= 3; k++)
        {
            var check = await coffer.RunAsync("at", store, "check", "--read-data-subset", $"{k}/3");
            if (check.ExitCode != 0)
            {
                Assert.That(check.Output, Does.Contain($"pack {Path.GetFileName(damaged)} is damaged"), check.ToString());
                failing.Add(k);
            }
        }

        Assert.That(failing, Has.Count.EqualTo(1));
        Assert.That((await coffer.RunAsync("at", store, "check", "--read-data-subset", "100%")).ExitCode, Is.Not.Zero);

        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "check", "--read-data-subset", "0/3"), "1 <= K <= N");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "check", "--read-data-subset", "4/3"), "1 <= K <= N");
        var tooMuch = await coffer.RunAsync("at", store, "check", "--read-data-subset", "150%");
        CofferCli.AssertOneLineFailure(tooMuch, "at most 100");
        Assert.That(tooMuch.ExitCode, Is.EqualTo(2));
    }
}
