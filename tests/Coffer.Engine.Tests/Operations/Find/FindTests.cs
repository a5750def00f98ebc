using System.Text.RegularExpressions;
using Coffer.Engine.Operations.Find;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Find;

public class FindTests
{
    private static readonly Regex MatchLine = new(@"^([0-9a-f]{8})  [-dl][-rwx]{9}  .+?  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (.*?)(?: -> .*)?$");

    [TestCase(false)]
    [TestCase(true)]
    public async Task Find_matches_names_paths_types_times_and_sizes_in_every_snapshot_or_the_ones_given(bool azure)
    {
        using var temp = new TemporaryDirectory("find");
        var (coffer, store) = await LifecycleCli.StoreAsync(temp, azure);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        var first = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));
        File.WriteAllText(Path.Combine(source, "docs", "new.txt"), "new\n");
        var second = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));

        Assert.That(await FindAsync(coffer, store, "*.txt"), Is.EquivalentTo(new[] { $"{first} readme.txt", $"{second} docs/new.txt", $"{second} readme.txt" }));
        Assert.That(await FindAsync(coffer, store, "--snapshot", first, "*.TXT", "-i"), Is.EqualTo(new[] { $"{first} readme.txt" }));
        Assert.That(await FindAsync(coffer, store, "-s", second, "--path", "docs/*/**"), Is.EqualTo(new[] { $"{second} docs/deep/er", $"{second} docs/deep/er/random.bin" }));
        Assert.That(await FindAsync(coffer, store, "-s", "latest", "--type", "l"), Is.EquivalentTo(new[] { $"{second} docs/dangling", $"{second} docs-link", $"{second} link-to-readme" }));
        Assert.That(await FindAsync(coffer, store, "-s", first, "--type", "d", "--type", "l", "d*"), Is.EquivalentTo(new[] { $"{first} docs", $"{first} docs/dangling", $"{first} docs/deep", $"{first} docs-link" }));
        Assert.That(await FindAsync(coffer, store, "-s", first, "--size", "1M.."), Is.EquivalentTo(new[] { $"{first} docs/deep/er/random.bin", $"{first} docs/text.log" }));
        Assert.That(await FindAsync(coffer, store, "-s", first, "--size", "1..20", "--type", "f"), Is.EqualTo(new[] { $"{first} readme.txt", $"{first} run.sh" }));
        Assert.That(await FindAsync(coffer, store, "--newer", "1h", "--type", "f"), Is.EqualTo(new[] { $"{second} docs/new.txt" }));
        Assert.That(await FindAsync(coffer, store, "-s", first, "--type", "f", "--newer", "2020-05-17T10:25:00", "--older", "2021-01-01"), Is.EqualTo(new[] { $"{first} docs/deep/er/random.bin" }));
        Assert.That(await FindAsync(coffer, store, "nothing-like-this"), Is.Empty);
    }

    [Test]
    public async Task Find_reads_trees_only_so_it_works_with_every_data_pack_gone()
    {
        using var temp = new TemporaryDirectory("find");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        var id = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));

        // Data and trees go to separate packs; the sample's trees take a few KiB, its data megabytes.
        var dataPacks = Directory.GetFiles(Path.Combine(store, "packfiles"), "*", SearchOption.AllDirectories).Where(p => new FileInfo(p).Length > 256 << 10).ToList();
        Assert.That(dataPacks, Is.Not.Empty);
        dataPacks.ForEach(File.Delete);
        Assert.That((await coffer.RunAsync("at", store, "cat", "latest:readme.txt")).ExitCode, Is.Not.Zero, "the data is gone");

        Assert.That(await FindAsync(coffer, store, "random.bin"), Is.EqualTo(new[] { $"{id} docs/deep/er/random.bin" }));
    }

    [Test]
    public async Task Bad_input_is_one_line_and_a_failure()
    {
        using var temp = new TemporaryDirectory("find");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        Assert.That((await coffer.RunAsync("at", store, "backup", source)).ExitCode, Is.Zero);

        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "find", "--snapshot", "ffffffff", "x"), "no snapshot 'ffffffff'");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "find", "--size", "5M..2M"), "is not a size");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "find", "docs/*.log"), "--path");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "find", "--newer", "yesterday"), "neither a date");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "find"), "nothing to find");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "find", "--type", "x", "a"), "x");
    }

    [TestCase("10", 10L, 10L)]
    [TestCase("1K..", 1024L, null)]
    [TestCase("..1.5M", null, 1572864L)]
    [TestCase("2KiB..3kb", 2048L, 3072L)]
    [TestCase("1G..1T", 1L << 30, 1L << 40)]
    public void Size_ranges_parse_with_binary_units(string text, long? min, long? max)
    {
        Assert.That(SizeRange.TryParse(text, out var range), Is.True);
        Assert.That(range, Is.EqualTo(new SizeRange(min, max)));
    }

    [TestCase("")]
    [TestCase("..")]
    [TestCase("2M..1M")]
    [TestCase("-1")]
    [TestCase("1X")]
    [TestCase("99999999999T")]
    public void Malformed_size_ranges_are_refused(string text) => Assert.That(SizeRange.TryParse(text, out _), Is.False);

    // Each match as "snapshot path", checking the whole line's shape on the way.
    private static async Task<List<string>> FindAsync(CofferProcess coffer, string store, params string[] args)
    {
        var result = await coffer.RunAsync(["at", store, "find", .. args]);
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var match = MatchLine.Match(line);
            Assert.That(match.Success, Is.True, line);
            return $"{match.Groups[1].Value} {match.Groups[2].Value}";
        }).ToList();
    }
}
