using System.Runtime.CompilerServices;
using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Packs;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// Paths that would lead a restore outside its target: names like <c>../x</c>, <c>a/../../x</c> or an
/// absolute path in a store's trees, a name given twice (a link, then a directory written through it), a
/// restore path with <c>..</c>, and a source that reports such paths. Each is refused with one line and
/// nothing is written outside the target.
/// </summary>
public class PathTraversalTests
{
    [TestCase("dot-dot file")]
    [TestCase("dot-dot directory")]
    [TestCase("name with dot-dot segments")]
    [TestCase("absolute name")]
    [TestCase("link then directory of one name")]
    [TestCase("name through a link")]
    [TestCase("dot-dot file in a subdirectory")]
    public async Task A_store_whose_tree_leads_outside_the_target_is_refused_at_restore(string hostile)
    {
        using var sandbox = new TemporaryDirectory("traversal");
        var outside = Directory.CreateDirectory(sandbox.Combine("outside")).FullName;
        var storePath = sandbox.Combine("store");
        using (var catalog = EngineHarness.LoadBundled())
        await using (var storage = await catalog.CreateStorageAsync(new ConnectorConfiguration(storePath)))
        {
            var store = await EngineHarness.CreateAndOpenAsync(storage, passphrase: null);
            await WriteSnapshotAsync(store, async tree => hostile switch
            {
                "dot-dot file" => [File("../x")],
                "dot-dot directory" => [await tree.DirectoryAsync("..", File("x"))],
                "name with dot-dot segments" => [File("a/../../x")],
                "absolute name" => [File(Path.Combine(outside, "abs"))],
                "link then directory of one name" => [Link("esc", outside), await tree.DirectoryAsync("esc", File("pwned"))],
                "name through a link" => [Link("esc", outside), File("esc/pwned")],
                "dot-dot file in a subdirectory" => [File("fine"), await tree.DirectoryAsync("sub", File("../../x"))],
                _ => throw new ArgumentOutOfRangeException(nameof(hostile)),
            });
        }

        var coffer = CofferCli.WithPosix(sandbox);
        var target = sandbox.Combine("target");
        var restore = await coffer.RunAsync("at", storePath, "restore", "-to", target, "latest");
        Assert.That(restore.ExitCode, Is.Not.Zero, restore.ToString());
        Assert.That(restore.Error.Trim().Split('\n'), Has.Length.EqualTo(1), restore.ToString());
        Assert.That(restore.Error, Does.Contain("tampered").And.Not.Contain("internal error"), restore.ToString());
        AssertNothingOutside(sandbox, outside);

        var check = await coffer.RunAsync("at", storePath, "check");
        Assert.That(check.ExitCode, Is.Not.Zero, $"check reports the hostile tree\n{check}");
        AssertNothingOutside(sandbox, outside);
    }

    [Test]
    public async Task A_restore_path_with_dot_dot_is_refused()
    {
        using var sandbox = new TemporaryDirectory("traversal-path");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(sandbox);
        var source = sandbox.Combine("source");
        TreeAssert.BuildSample(source, seed: 2);
        Assert.That((await coffer.RunAsync("at", store, "backup", source)).ExitCode, Is.Zero);
        var entries = Directory.GetFileSystemEntries(sandbox.Path).Order(StringComparer.Ordinal).ToList();

        foreach (var path in new[] { "../..", "docs/../../..", "/../../etc" })
        {
            var restore = await coffer.RunAsync("at", store, "restore", "-to", sandbox.Combine("target"), $"latest:{path}");
            Assert.That(restore.ExitCode, Is.Not.Zero, $"{path}\n{restore}");
            Assert.That(restore.Error.Trim().Split('\n'), Has.Length.EqualTo(1), restore.ToString());
            Assert.That(restore.Error, Does.Contain("no '").And.Not.Contain("internal error"), restore.ToString());
        }

        Assert.That(Directory.GetFileSystemEntries(sandbox.Path).Where(e => Path.GetFileName(e) != "target").Order(StringComparer.Ordinal), Is.EqualTo(entries));
    }

    [Test]
    public async Task A_source_that_reports_paths_leading_outside_gets_none_of_them_into_the_snapshot()
    {
        using var sandbox = new TemporaryDirectory("traversal-source");
        using var catalog = EngineHarness.LoadBundled();
        await using var storage = await catalog.CreateStorageAsync(new ConnectorConfiguration(sandbox.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage, passphrase: null);
        var source = new HostileSource(
            Entry("", EntryKind.Directory), Entry("ok.txt", EntryKind.File), Entry("..", EntryKind.Directory), Entry("../x", EntryKind.File),
            Entry("a", EntryKind.Directory), Entry("a/..", EntryKind.File), Entry("a/.", EntryKind.File), Entry("a/ok.txt", EntryKind.File),
            Entry("esc", EntryKind.Symlink) with { SymlinkTarget = sandbox.Path }, Entry("esc", EntryKind.Directory), Entry("esc/pwned", EntryKind.File),
            Entry("ok.txt", EntryKind.File), Entry("a/", EntryKind.File));
        var runner = new BackupRunner(store, source, new BackupRequest("hostile", [], []), TimeProvider.System, Environment.MachineName, new BackupProgress());
        var (snapshot, warnings, _) = await runner.RunAsync(CancellationToken.None);

        var paths = new List<string>();
        await foreach (var (path, _) in store.WalkAsync(snapshot.Root, "", CancellationToken.None))
        {
            paths.Add(path);
        }

        Assert.That(paths, Is.EqualTo(new[] { "", "a", "a/ok.txt", "esc", "ok.txt" }), "only plain names, each once");
        Assert.That(warnings, Has.Count.EqualTo(6), string.Join("\n", warnings));
        Assert.That(warnings, Has.Some.Contain("\"..\"").And.Some.Contain("\"a/..\"").And.Some.Contain("\"ok.txt\""));

        var target = Directory.CreateDirectory(sandbox.Combine("target")).FullName;
        await using var destination = await catalog.CreateDestinationAsync(new ConnectorConfiguration(target));
        await EngineHarness.RestoreAsync(store, snapshot, destination);
        Assert.That(Directory.GetFileSystemEntries(sandbox.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "store", "target" }));
        Assert.That(new FileInfo(Path.Combine(target, "esc")).LinkTarget, Is.EqualTo(sandbox.Path), "a link is restored as a link, never written through");
    }

    private static TreeEntry Entry(string path, EntryKind kind) => new(path, kind) { ModifiedTime = TreeAssert.OldTime };

    private static Node File(string name) => new() { Name = name, Kind = Node.FileKind, Content = [], Mtime = TreeAssert.OldTime };

    private static Node Link(string name, string target) => new() { Name = name, Kind = Node.SymlinkKind, Target = target, Mtime = TreeAssert.OldTime };

    private static void AssertNothingOutside(TemporaryDirectory sandbox, string outside)
    {
        Assert.That(Directory.GetFileSystemEntries(outside), Is.Empty, "nothing written through a link or an absolute name");
        var beside = Directory.GetFileSystemEntries(sandbox.Path).Select(Path.GetFileName).Except(["store", "target", "outside", "data", "config"]);
        Assert.That(beside, Is.Empty, "nothing written beside the target");
    }

    /// <summary>Writes a snapshot whose root directory holds what <paramref name="entries"/> builds, trees and all, as a backup would.</summary>
    private static async Task WriteSnapshotAsync(CofferStore store, Func<TreeWriter, Task<Node[]>> entries)
    {
        using var failure = new CancellationTokenSource();
        using var uploader = new PackUploader(store, concurrency: 1, failure);
        var writer = new TreeWriter(store, uploader);
        var root = await writer.DirectoryAsync("", await entries(writer));
        await uploader.CompleteAsync(CancellationToken.None);
        await store.WriteSnapshotAsync(new Snapshot
        {
            Id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            Time = DateTimeOffset.UtcNow,
            Source = "/hostile",
            Root = root,
            Summary = new SnapshotSummary(),
        }, CancellationToken.None);
    }

    private sealed class TreeWriter(CofferStore store, PackUploader uploader)
    {
        public async Task<Node> DirectoryAsync(string name, params Node[] entries)
        {
            var json = new TreeNode { Entries = entries }.ToJson();
            var id = store.Keys.ComputeId(json);
            if (uploader.TryClaim(id))
            {
                var (buffer, length) = store.Codec.Encode(BlobType.Tree, id, json);
                await uploader.AddAsync(BlobType.Tree, id, buffer, length, json.Length, CancellationToken.None);
            }

            return new Node { Name = name, Kind = Node.DirectoryKind, Subtree = id.ToString(), Mtime = TreeAssert.OldTime };
        }
    }

    /// <summary>A source connector that reports whatever paths it is given, as a buggy or hostile plugin might.</summary>
    private sealed class HostileSource(params TreeEntry[] entries) : ISourceConnector
    {
        public string Description => "hostile source";

        public async IAsyncEnumerable<TreeEntry> ScanAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var entry in entries)
            {
                await Task.Yield();
                yield return entry;
            }
        }

        public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default) => Task.FromResult<Stream>(new MemoryStream([]));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
