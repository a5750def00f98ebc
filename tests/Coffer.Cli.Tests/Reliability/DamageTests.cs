using Azure.Storage.Blobs;
using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Packs;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// Damage stays local (issue 22): a damaged snapshot object, index object or tree affects only what needs it,
/// 'check' names it, 'repair' mends it; entries a backup could not read make the snapshot incomplete, said by
/// exit code 3 and never restored as bogus files. Every case runs the real CLI; the damage is done to the
/// store's objects directly, on a directory or in Azurite.
/// </summary>
public class DamageTests
{
    [TestCase(false)]
    [TestCase(true)]
    public async Task A_damaged_snapshot_object_only_takes_itself_down_and_rm_or_repair_removes_it(bool azure)
    {
        using var temp = new TemporaryDirectory("damage-snapshot");
        var (coffer, store, container) = await LifecycleCli.StoreWithContainerAsync(temp, azure);
        var objects = new StoreObjects(store, container);
        var older = temp.Combine("older");
        var newer = temp.Combine("newer");
        LifecycleCli.BuildTree(older, seed: 1, files: 8, size: 2000);
        LifecycleCli.BuildTree(newer, seed: 2, files: 8, size: 2000);
        var damaged = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", older));
        var intact = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", newer));
        await objects.WriteAsync(StorageObjectClass.Snapshot, await objects.NameAsync(StorageObjectClass.Snapshot, damaged), []);

        var ls = await coffer.RunAsync("at", store, "ls");
        Assert.That(ls.ExitCode, Is.Zero, ls.ToString());
        Assert.That(ls.Output, Does.Contain(intact).And.Match($"{damaged}  DAMAGED .*repair snapshots"), ls.ToString());

        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", store, "restore", intact, "-to", restored);
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        TreeAssert.AreEqual(newer, restored, compareRootMtime: false);
        Assert.That((await coffer.RunAsync("at", store, "info")).ExitCode, Is.Zero);
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "restore", damaged, "-to", temp.Combine("no")), $"snapshot {damaged}");

        var check = await coffer.RunAsync("at", store, "check", "--fast");
        Assert.That(check.ExitCode, Is.EqualTo(1), check.ToString());
        Assert.That(check.Output, Does.Contain($"snapshot {damaged}").And.Contain("repair snapshots"), check.ToString());
        Assert.That(check.Error, Does.Contain($"damaged snapshots: {damaged}"), check.ToString());

        var backup = await coffer.RunAsync("at", store, "backup", older);
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());

        // Which blobs the damaged snapshot needs cannot be known: maintenance frees nothing, but works.
        var packsBefore = await objects.NamesAsync(StorageObjectClass.Packfile);
        var maintenance = await coffer.RunAsync("at", store, "maintenance");
        Assert.That(maintenance.ExitCode, Is.Zero, maintenance.ToString());
        Assert.That(maintenance.Output, Does.Contain($"damaged snapshots ({damaged}): nothing was freed"), maintenance.ToString());
        Assert.That(await objects.NamesAsync(StorageObjectClass.Packfile), Is.SupersetOf(packsBefore));

        var dryRepair = await coffer.RunAsync("at", store, "repair", "snapshots", "--dry-run");
        Assert.That(dryRepair.Output, Does.Contain($"would remove snapshot {damaged}"), dryRepair.ToString());
        Assert.That((await coffer.RunAsync("at", store, "ls")).Output, Does.Contain($"{damaged}  DAMAGED"));

        // rm takes it by id on one store kind, repair snapshots on the other: both only delete its object.
        var removal = azure ? await coffer.RunAsync("at", store, "repair", "snapshots") : await coffer.RunAsync("at", store, "rm", damaged);
        Assert.That(removal.ExitCode, Is.Zero, removal.ToString());
        var after = await coffer.RunAsync("at", store, "check");
        Assert.That(after.ExitCode, Is.Zero, after.ToString());
        Assert.That(after.Error, Is.Empty, after.ToString());
        Assert.That((await coffer.RunAsync("at", store, "maintenance")).Output, Does.Contain("2 snapshots use"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_truncated_index_object_is_read_around_named_by_check_and_rebuilt_by_repair_index(bool azure)
    {
        using var temp = new TemporaryDirectory("damage-index");
        var (coffer, store, container) = await LifecycleCli.StoreWithContainerAsync(temp, azure);
        var objects = new StoreObjects(store, container);
        var source = temp.Combine("source");
        LifecycleCli.BuildTree(source, seed: 3, files: 8, size: 2000);
        Assert.That((await coffer.RunAsync("at", store, "backup", source)).ExitCode, Is.Zero);
        var indexes = await objects.NamesAsync(StorageObjectClass.Index);
        var truncated = indexes[0];
        var bytes = await objects.ReadAsync(StorageObjectClass.Index, truncated);
        await objects.WriteAsync(StorageObjectClass.Index, truncated, bytes[..(bytes.Length / 2)]);

        // Every command goes on from the packs' own headers, and says once what to run.
        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", store, "restore", "latest", "-to", restored);
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        Assert.That(restore.Error, Does.Contain($"index {truncated}").And.Contain("run 'coffer repair index'"), restore.ToString());
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);

        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.ExitCode, Is.EqualTo(1), check.ToString());
        Assert.That(check.Output, Does.Contain($"index {truncated}").And.Contain("'coffer repair index'"), check.ToString());

        var dry = await coffer.RunAsync("at", store, "repair", "index", "--dry-run");
        Assert.That(dry.ExitCode, Is.Zero, dry.ToString());
        Assert.That(dry.Output, Does.Contain("dry run: would replace"), dry.ToString());
        Assert.That(await objects.NamesAsync(StorageObjectClass.Index), Is.EquivalentTo(indexes));

        var repair = await coffer.RunAsync("at", store, "repair", "index");
        Assert.That(repair.ExitCode, Is.Zero, repair.ToString());
        Assert.That(repair.Output, Does.Match("read from their headers; wrote [1-9][0-9]* index objects replacing"), repair.ToString());
        // A plaintext index object is named by its content, so the rebuilt one may carry the damaged one's name: then whole.
        if ((await objects.NamesAsync(StorageObjectClass.Index)).Contains(truncated))
        {
            Assert.That(await objects.ReadAsync(StorageObjectClass.Index, truncated), Is.EqualTo(bytes), "the object under the truncated one's name is whole again");
        }

        var after = await coffer.RunAsync("at", store, "check");
        Assert.That(after.ExitCode, Is.Zero, after.ToString());
        Assert.That(after.Error, Is.Empty, after.ToString());
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_damaged_directory_tree_costs_only_that_directory_at_restore_and_repair_salvages_the_rest(bool azure)
    {
        using var temp = new TemporaryDirectory("damage-tree");
        var (coffer, store, container) = await LifecycleCli.StoreWithContainerAsync(temp, azure);
        var source = temp.Combine("source");
        LifecycleCli.BuildTree(source, seed: 4, files: 8, size: 2000);
        var id = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));
        var location = container is null
            ? new ConnectorConfiguration(store)
            : new ConnectorConfiguration($"azblob://{container}", new Dictionary<string, string> { ["connection_string"] = (await AzuriteServer.GetSharedAsync()).ConnectionString });
        await DamageTreeAsync(location, new StoreObjects(store, container), "d1");

        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", store, "restore", "latest", "-to", restored);
        Assert.That(restore.ExitCode, Is.EqualTo(1), restore.ToString());
        Assert.That(restore.Output, Does.Contain("not restored, damaged in the store: \"d1\""), restore.ToString());
        Assert.That(restore.Error, Does.Contain("restore incomplete: \"d1\" of snapshot").And.Contain("the rest is restored"), restore.ToString());
        Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(restored, "d1")), Is.Empty);
        Directory.Delete(Path.Combine(source, "d1"), recursive: true);
        Directory.Delete(Path.Combine(restored, "d1"));
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);

        var check = await coffer.RunAsync("at", store, "check", "--fast");
        Assert.That(check.Output, Does.Contain($"snapshot {id}: d1: directory unreadable"), check.ToString());

        // Salvage keeps every readable entry under the same id and records the lost directory.
        var repair = await coffer.RunAsync("at", store, "repair", "snapshots");
        Assert.That(repair.Output, Does.Contain($"salvaged snapshot {id}: 1 entries lost").And.Contain("lost \"d1\": directory unreadable"), repair.ToString());
        // (A full check still names the pack that holds the damaged blob: the other trees in it are in use.)
        var salvaged = await coffer.RunAsync("at", store, "check", "--fast");
        Assert.That(salvaged.ExitCode, Is.Zero, salvaged.ToString());
        Assert.That(salvaged.Output, Does.Contain($"incomplete: snapshot {id}: d1: not backed up: lost in a repair"), salvaged.ToString());
        var again = await coffer.RunAsync("at", store, "restore", id, "-to", temp.Combine("again"));
        Assert.That(again.ExitCode, Is.EqualTo(3), again.ToString());
        Assert.That(Directory.EnumerateFileSystemEntries(temp.Combine("again", "d1")), Is.Empty);
        Directory.Delete(temp.Combine("again", "d1"));
        TreeAssert.AreEqual(source, temp.Combine("again"), compareRootMtime: false);
    }

    [Test]
    public async Task Entries_a_backup_cannot_read_make_it_exit_3_are_listed_by_check_and_are_never_restored_as_empty_files()
    {
        using var temp = new TemporaryDirectory("damage-unreadable");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source, seed: 5);

        // A file mode 000, read by a coffer without the capabilities that let root read it anyway.
        var unreadable = Path.Combine(source, "bad name");
        File.WriteAllText(unreadable, "secret");
        File.SetUnixFileMode(unreadable, UnixFileMode.None);
        coffer.WithoutReadOverride = true;
        var backup = await coffer.RunAsync("at", store, "backup", source);
        coffer.WithoutReadOverride = false;
        Assert.That(backup.ExitCode, Is.EqualTo(3), backup.ToString());
        var id = LifecycleCli.SnapshotId(backup);
        Assert.That(backup.Output, Does.Contain($"snapshot {id} is incomplete: 1 entries could not be read").And.Contain($"\"bad name\": cannot read {unreadable}: Permission denied"), backup.ToString());
        Assert.That((await coffer.RunAsync("at", store, "ls")).Output, Does.Contain("incomplete: 1 entries not read"));

        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(check.Output, Does.Contain($"incomplete: snapshot {id}: bad name: not backed up").And.Contain("1 snapshots incomplete"), check.ToString());

        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", store, "restore", id, "-to", restored);
        Assert.That(restore.ExitCode, Is.EqualTo(3), restore.ToString());
        Assert.That(restore.Output, Does.Contain("not restored, the backup could not read it: \"bad name\""), restore.ToString());
        Assert.That(File.Exists(Path.Combine(restored, "bad name")), Is.False, "no empty file in its place");
        File.Delete(unreadable);
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);
    }

    /// <summary>Flips a byte in the middle of the tree blob of <paramref name="directory"/> (a child of the latest snapshot's root).</summary>
    private static async Task DamageTreeAsync(ConnectorConfiguration location, StoreObjects objects, string directory)
    {
        using var catalog = EngineHarness.LoadBundled();
        BlobLocation blob;
        await using (var storage = await catalog.CreateStorageAsync(location))
        {
            var store = await EngineHarness.ReopenAsync(storage, passphrase: "");
            var snapshot = (await store.ListSnapshotsAsync(CancellationToken.None))[^1];
            var root = await store.ReadTreeAsync(BlobId.Parse(snapshot.Root.Subtree!), CancellationToken.None);
            var tree = BlobId.Parse(root.Entries.Single(e => e.Name == directory).Subtree!);
            Assert.That(store.Index.TryGet(tree, out blob), Is.True);
        }

        var bytes = await objects.ReadAsync(StorageObjectClass.Packfile, blob.Pack);
        bytes[blob.Offset + blob.Length / 2] ^= 0x55;
        await objects.WriteAsync(StorageObjectClass.Packfile, blob.Pack, bytes);
    }

    [Test]
    public async Task The_index_cache_lists_exactly_its_index_objects_a_damaged_or_stale_one_is_rebuilt_and_check_still_reads_the_store()
    {
        using var temp = new TemporaryDirectory("damage-cache");
        var (coffer, store, _) = await LifecycleCli.StoreWithContainerAsync(temp, azure: false);
        var objects = new StoreObjects(store, null);
        var (first, second) = (temp.Combine("first"), temp.Combine("second"));
        LifecycleCli.BuildTree(first, seed: 5, files: 6, size: 3000);
        LifecycleCli.BuildTree(second, seed: 6, files: 6, size: 3000);
        var older = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", first));
        var ls = await coffer.RunAsync("at", store, "ls", "-r", "latest");
        Assert.That(ls.ExitCode, Is.Zero, ls.ToString());
        var path = Directory.GetFiles(coffer.CacheDirectory, CofferStore.IndexCacheFileName, SearchOption.AllDirectories).Single();
        string[] Listed()
        {
            using var cache = IndexCache.TryOpen(path);
            Assert.That(cache, Is.Not.Null, "the cache file reads back whole");
            return [.. cache!.IndexObjects.Order(StringComparer.Ordinal)];
        }

        // The backup built the file from the empty store; its own small index object is read beside it, in RAM.
        Assert.That(Listed(), Is.Empty);

        // Damaged: one flipped byte, and the next command rebuilds the file instead of reading it, and answers the same.
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0x10;
        await File.WriteAllBytesAsync(path, bytes);
        var again = await coffer.RunAsync("at", store, "ls", "-r", "latest");
        Assert.That((again.ExitCode, again.Output, again.Error), Is.EqualTo((0, ls.Output, "")), again.ToString());
        Assert.That(Listed(), Is.EqualTo(await objects.NamesAsync(StorageObjectClass.Index)));

        // A small new index object stays beside the file, in RAM; maintenance replacing index objects makes the file stale: rebuilt.
        var cachedBefore = Listed();
        Assert.That((await coffer.RunAsync("at", store, "backup", second)).ExitCode, Is.Zero);
        Assert.That((await coffer.RunAsync("at", store, "ls", "-r", "latest")).ExitCode, Is.Zero);
        Assert.That(Listed(), Is.EqualTo(cachedBefore));
        Assert.That((await coffer.RunAsync("at", store, "rm", older)).ExitCode, Is.Zero);
        var maintenance = await coffer.RunAsync("at", store, "maintenance");
        Assert.That(maintenance.ExitCode, Is.Zero, maintenance.ToString());
        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", store, "restore", "latest", "-to", restored);
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        TreeAssert.AreEqual(second, restored, compareRootMtime: false);
        Assert.That(Listed(), Is.EqualTo(await objects.NamesAsync(StorageObjectClass.Index)).And.Not.EqualTo(cachedBefore));

        // The store stays the source of truth: an index object damaged after the file was built is still named by check.
        var victim = Listed()[0];
        var index = await objects.ReadAsync(StorageObjectClass.Index, victim);
        await objects.WriteAsync(StorageObjectClass.Index, victim, index[..(index.Length / 2)]);
        var check = await coffer.RunAsync("at", store, "check", "--fast");
        Assert.That(check.ExitCode, Is.EqualTo(1), check.ToString());
        Assert.That(check.Output, Does.Contain($"index {victim}").And.Contain("'coffer repair index'"), check.ToString());
    }

    /// <summary>A store's objects, reached directly: files under a directory store, or blobs in its Azurite container.</summary>
    private sealed class StoreObjects(string store, string? container)
    {
        private readonly BlobContainerClient? _container = container is null ? null : AzuriteServer.GetSharedAsync().GetAwaiter().GetResult().CreateServiceClient().GetBlobContainerClient(container);

        public async Task<List<string>> NamesAsync(StorageObjectClass objectClass)
        {
            if (_container is null)
            {
                return Directory.GetFiles(Path.Combine(store, Folder(objectClass)), "*", SearchOption.AllDirectories).Select(Path.GetFileName).OfType<string>().Where(n => n != "trash").Order(StringComparer.Ordinal).ToList();
            }

            var names = new List<string>();
            await foreach (var blob in _container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, AzureFolder(objectClass) + "/", CancellationToken.None))
            {
                names.Add(blob.Name[(AzureFolder(objectClass).Length + 1)..]);
            }

            return names.Where(n => n != "trash").Order(StringComparer.Ordinal).ToList();
        }

        public async Task<string> NameAsync(StorageObjectClass objectClass, string prefix) =>
            (await NamesAsync(objectClass)).Single(n => n.StartsWith(prefix, StringComparison.Ordinal));

        public async Task<byte[]> ReadAsync(StorageObjectClass objectClass, string name) => _container is null
            ? await File.ReadAllBytesAsync(PathOf(objectClass, name))
            : (await _container.GetBlobClient($"{AzureFolder(objectClass)}/{name}").DownloadContentAsync()).Value.Content.ToArray();

        public async Task WriteAsync(StorageObjectClass objectClass, string name, byte[] content)
        {
            if (_container is null)
            {
                await File.WriteAllBytesAsync(PathOf(objectClass, name), content);
                return;
            }

            await _container.GetBlobClient($"{AzureFolder(objectClass)}/{name}").UploadAsync(new BinaryData(content), overwrite: true);
        }

        private string PathOf(StorageObjectClass objectClass, string name) =>
            Directory.GetFiles(Path.Combine(store, Folder(objectClass)), name, SearchOption.AllDirectories).Single();

        private static string Folder(StorageObjectClass objectClass) => objectClass switch
        {
            StorageObjectClass.Packfile => "packfiles",
            StorageObjectClass.Index => "index",
            _ => "snapshots",
        };

        private static string AzureFolder(StorageObjectClass objectClass) => objectClass switch
        {
            StorageObjectClass.Packfile => "packfile",
            StorageObjectClass.Index => "index",
            _ => "snapshot",
        };
    }
}
