using Coffer.Engine.Operations.Tags;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Tags;

public class TagTests
{
    [Test]
    public async Task Tag_adds_removes_and_sets_tags_keeping_each_snapshot_id()
    {
        using var temp = new TemporaryDirectory("tag");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        var id = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", "--tag", "daily", source));
        var objects = SnapshotObjects(store);

        var added = await coffer.RunAsync("at", store, "tag", id, "--add", "keep", "--add", "x", "--add", "daily");
        Assert.That(added.ExitCode, Is.Zero, added.ToString());
        Assert.That(added.Output, Does.Contain($"{id}  changed  tags=daily,keep,x").And.Contain("1 of 1 snapshots changed"), added.ToString());
        Assert.That((await coffer.RunAsync("at", store, "ls")).Output, Does.StartWith(id).And.Contain("tags=daily,keep,x"));

        Assert.That((await coffer.RunAsync("at", store, "tag", "latest", "--remove", "x")).Output, Does.Contain($"{id}  changed  tags=daily,keep"));
        var unchanged = await coffer.RunAsync("at", store, "tag", id, "--remove", "not-there");
        Assert.That(unchanged.Output, Does.Contain($"{id}  unchanged  tags=daily,keep").And.Contain("0 of 1 snapshots changed"), unchanged.ToString());
        Assert.That((await coffer.RunAsync("at", store, "tag", "--tag", "keep", "--set", "final", "--set", "v1")).Output, Does.Contain($"{id}  changed  tags=final,v1"));
        Assert.That(SnapshotObjects(store), Is.EqualTo(objects), "a tag change rewrites the snapshot under its own id");

        // The id stays the parent of the next backup of the source, and the store checks clean.
        var again = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(again.Output, Does.Contain("(5 files unchanged)"), again.ToString());
        Assert.That((await coffer.RunAsync("at", store, "info", "latest")).Output, Does.Contain($"parent:      {id}"));
        Assert.That((await coffer.RunAsync("at", store, "tag", id, "--set", "")).Output, Does.Contain($"{id}  changed  no tags"));
        Assert.That((await coffer.RunAsync("at", store, "check")).ExitCode, Is.Zero);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Tag_host_and_source_filters_choose_snapshots_for_ls_find_and_rm(bool azure)
    {
        using var temp = new TemporaryDirectory("tag");
        var (coffer, store) = await LifecycleCli.StoreAsync(temp, azure);
        var first = temp.Combine("first");
        var second = temp.Combine("second");
        TreeAssert.BuildSample(first);
        TreeAssert.BuildSample(second, seed: 2);
        var firstOld = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", "--tag", "web", "--tag", "prod", first));
        var firstNew = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", "--tag", "web", first));
        var secondId = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", "--tag", "db", second));

        Assert.That(await IdsAsync(coffer, store, "ls", "--tag", "web"), Is.EqualTo(new[] { firstOld, firstNew }));
        Assert.That(await IdsAsync(coffer, store, "ls", "--tag", "web,prod"), Is.EqualTo(new[] { firstOld }));
        Assert.That(await IdsAsync(coffer, store, "ls", "--tag", "prod", "--tag", "db"), Is.EqualTo(new[] { firstOld, secondId }));
        Assert.That(await IdsAsync(coffer, store, "ls", "--host", Environment.MachineName, "--source", second), Is.EqualTo(new[] { secondId }));
        Assert.That(await IdsAsync(coffer, store, "ls", "--path", first), Is.EqualTo(new[] { firstOld, firstNew }));
        Assert.That(await IdsAsync(coffer, store, "find", "--tag", "db", "--source", second, "readme.txt"), Is.EqualTo(new[] { secondId }));

        var dry = await coffer.RunAsync("at", store, "rm", "--source", first, "--keep-last", "1", "--dry-run");
        Assert.That(dry.Output, Does.Contain($"would remove  {firstOld}").And.Contain($"keep    {firstNew}").And.Not.Contain(secondId), dry.ToString());
        var removed = await coffer.RunAsync("at", store, "rm", "--tag", "web", "--keep-last", "1");
        Assert.That(removed.ExitCode, Is.Zero, removed.ToString());
        Assert.That(await IdsAsync(coffer, store, "ls"), Is.EqualTo(new[] { firstNew, secondId }));

        var tagged = await coffer.RunAsync("at", store, "tag", "--source", second, "--add", "keep");
        Assert.That(tagged.Output, Does.Contain($"{secondId}  changed  tags=db,keep"), tagged.ToString());
        Assert.That(await IdsAsync(coffer, store, "ls", "--tag", "keep"), Is.EqualTo(new[] { secondId }));
        Assert.That((await coffer.RunAsync("at", store, "check")).ExitCode, Is.Zero);
    }

    [Test]
    public async Task Bad_input_is_one_line_and_changes_nothing()
    {
        using var temp = new TemporaryDirectory("tag");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        var id = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", "--tag", "daily", source));
        var before = SnapshotBytes(store);

        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "tag", id, "ffffffff", "--add", "x"), "no snapshot 'ffffffff'");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "tag", "--tag", "nightly", "--add", "x"), "no snapshot matches --tag nightly");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "tag", id), "nothing to change");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "tag", "--add", "x"), "which snapshots?");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "tag", id, "--tag", "daily", "--add", "x"), "not both");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "tag", id, "--add", "a,b"), "is not a tag");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "tag", id, "--set", "a", "--remove", "daily"), "give it alone");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "ls", "--host", "no-such-host"), "no snapshot matches --host no-such-host");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "ls", id, "--tag", "daily"), "without a SNAPSHOT");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "find", "--tag", "nightly", "x"), "no snapshot matches --tag nightly");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "rm", "--tag", "nightly", "--keep-last", "1"), "no snapshot matches --tag nightly");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "rm", id, "--tag", "daily"), "not both");
        Assert.That(SnapshotBytes(store), Is.EqualTo(before));
    }

    [Test]
    public void A_tag_change_keeps_the_order_adds_at_the_end_and_holds_each_tag_once()
    {
        Assert.That(new TagChange { Add = ["b", "z", "z"], Remove = ["a"] }.ApplyTo(["a", "b", "c"]), Is.EqualTo(new[] { "b", "c", "z" }));
        Assert.That(new TagChange { Set = ["x", "x", "y"] }.ApplyTo(["a"]), Is.EqualTo(new[] { "x", "y" }));
        Assert.That(new TagChange { Set = [] }.ApplyTo(["a"]), Is.Empty);
    }

    private static string[] SnapshotObjects(string store) =>
        Directory.GetFiles(Path.Combine(store, "snapshots"), "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private static Dictionary<string, byte[]> SnapshotBytes(string store) =>
        Directory.GetFiles(Path.Combine(store, "snapshots"), "*", SearchOption.AllDirectories).ToDictionary(p => p, File.ReadAllBytes);

    // The snapshot ids a command prints at the start of its lines, each once, in order.
    private static async Task<List<string>> IdsAsync(CofferProcess coffer, string store, params string[] args)
    {
        var result = await coffer.RunAsync(["at", store, .. args]);
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line[..8]).Distinct().ToList();
    }
}
