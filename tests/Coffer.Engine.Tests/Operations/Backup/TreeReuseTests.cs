using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Backup;

/// <summary>
/// A re-backup keeps the parent snapshot's tree blob of every directory whose entries are unchanged (nothing
/// encoded or hashed again) and writes the trees of changed directories and their ancestors; the source is
/// scanned ahead (<see cref="SourcePrescan"/>) as the command does.
/// </summary>
public class TreeReuseTests
{
    [Test]
    public async Task An_unchanged_directory_keeps_its_parent_tree_blob_and_a_change_rewrites_only_its_path()
    {
        using var temp = new TemporaryDirectory("tree-reuse");
        var source = temp.Combine("source");
        foreach (var file in new[] { "a.txt", "d0/b.txt", "d0/e/c.txt", "d0/e/c2.txt", "d1/f.txt", "d1/g/h.txt" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(source, file))!);
            TreeAssert.Write(source, file, System.Text.Encoding.UTF8.GetBytes(file), (UnixFileMode)0b110_100_100);
        }

        const int directories = 5; // the root, d0, d0/e, d1, d1/g
        using var catalog = EngineHarness.LoadBundled();
        await using var storage = await catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        await using var connector = await catalog.CreateSourceAsync(new ConnectorConfiguration(source));

        async Task<(BackupRunner Runner, Snapshot Snapshot)> BackupAsync()
        {
            await using var prescan = new SourcePrescan(connector, CancellationToken.None);
            var runner = new BackupRunner(store, connector, new BackupRequest(source, [], []), TimeProvider.System, Environment.MachineName, new BackupProgress()) { Prescan = prescan };
            var result = await runner.RunAsync(CancellationToken.None);
            Assert.That(result.Warnings, Is.Empty);
            return (runner, result.Snapshot);
        }

        async Task<Dictionary<string, string>> SubtreesAsync(Snapshot snapshot)
        {
            var found = new Dictionary<string, string> { [""] = snapshot.Root.Subtree! };
            foreach (var path in new[] { "d0", "d0/e", "d1", "d1/g" })
            {
                var slash = path.LastIndexOf('/');
                var parent = await store.ReadTreeAsync(BlobId.Parse(found[slash < 0 ? "" : path[..slash]]), CancellationToken.None);
                found[path] = parent.Entries.Single(e => e.Name == path[(slash + 1)..]).Subtree!;
            }

            return found;
        }

        var (first, firstSnapshot) = await BackupAsync();
        Assert.That((first.ReusedTrees, firstSnapshot.Summary.Files, firstSnapshot.Summary.Directories), Is.EqualTo((0, 6, directories)), "no parent: every tree written");
        var before = await SubtreesAsync(firstSnapshot);

        var (unchanged, unchangedSnapshot) = await BackupAsync();
        Assert.That(unchanged.ReusedTrees, Is.EqualTo(directories), "every directory kept its tree");
        Assert.That((unchangedSnapshot.Summary.NewBlobs, unchangedSnapshot.Root.Subtree), Is.EqualTo((0, firstSnapshot.Root.Subtree)));

        // One file changed in d0/e, one removed from d1/g: those directories and their ancestors get new trees, d0/e's
        // parent's sibling content (a.txt, d0/b.txt, d1/f.txt) stays where it was.
        File.AppendAllText(Path.Combine(source, "d0/e/c.txt"), "changed");
        File.Delete(Path.Combine(source, "d1/g/h.txt"));
        Directory.SetLastWriteTimeUtc(Path.Combine(source, "d1/g"), TreeAssert.OldTime);
        var (changed, changedSnapshot) = await BackupAsync();
        var after = await SubtreesAsync(changedSnapshot);
        Assert.That(changed.ReusedTrees, Is.EqualTo(0), "every directory lies on a changed path");
        Assert.That(after.Where(p => p.Value == before[p.Key]).Select(p => p.Key), Is.Empty);

        // Only d1's mode changes: d1's own tree and everything in d0 are kept; the root's entry for d1 differs.
        File.SetUnixFileMode(Path.Combine(source, "d1"), (UnixFileMode)0b111_101_000);
        var (modeOnly, modeSnapshot) = await BackupAsync();
        var afterMode = await SubtreesAsync(modeSnapshot);
        Assert.That(modeOnly.ReusedTrees, Is.EqualTo(directories - 1), "all but the root");
        Assert.That(afterMode.Where(p => p.Value != after[p.Key]).Select(p => p.Key), Is.EqualTo(new[] { "" }));

        var target = Directory.CreateDirectory(temp.Combine("target")).FullName;
        await using var destination = await catalog.CreateDestinationAsync(new ConnectorConfiguration(target));
        await EngineHarness.RestoreAsync(store, modeSnapshot, destination);
        TreeAssert.AreEqual(source, target, compareRootMtime: false);
    }

    [Test]
    public void Nodes_are_the_same_when_every_field_says_the_same_collections_by_content()
    {
        var time = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var node = new Node
        {
            Name = "f",
            Kind = Node.FileKind,
            Size = 3,
            Mtime = time,
            Content = ["aa", "bb"],
            Extents = [[0, 1], [4, 2]],
            Metadata = new Dictionary<string, string> { ["user.x"] = "1" },
            NameRaw = [1, 2],
        };
        var copy = node with
        {
            Content = ["aa", "bb"],
            Extents = [[0, 1], [4, 2]],
            Metadata = new Dictionary<string, string> { ["user.x"] = "1" },
            NameRaw = [1, 2],
        };

        Assert.That(node.SameAs(copy), Is.True, "equal content in other collections");
        Assert.That(node.SameAs(copy with { Content = ["aa"] }), Is.False, "content");
        Assert.That(node.SameAs(copy with { Extents = [[0, 1], [4, 3]] }), Is.False, "extents");
        Assert.That(node.SameAs(copy with { Metadata = new Dictionary<string, string> { ["user.x"] = "2" } }), Is.False, "metadata");
        Assert.That(node.SameAs(copy with { Metadata = null }), Is.False, "metadata gone");
        Assert.That(node.SameAs(copy with { NameRaw = [1, 3] }), Is.False, "raw name");
        Assert.That(node.SameAs(copy with { Mtime = time.ToOffset(TimeSpan.FromHours(2)) }), Is.False, "the same instant at another offset is stored differently");
        Assert.That(node.SameAs(copy with { Sha256 = "00" }), Is.False, "a scalar field");
        Assert.That(node.SameAs(copy with { Mode = 420 }), Is.False, "a nullable field");
    }
}
