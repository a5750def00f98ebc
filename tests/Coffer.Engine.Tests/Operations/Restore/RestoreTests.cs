using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Repository;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Restore;

public class RestoreTests
{
    private ConnectorCatalog _catalog = null!;

    [OneTimeSetUp]
    public void Load() => _catalog = EngineHarness.LoadBundled();

    [OneTimeTearDown]
    public void Unload() => _catalog.Dispose();

    private async Task<(CofferStore Store, Snapshot Snapshot, CountingStorage Storage)> BackUpAsync(string store, string source)
    {
        var storage = new CountingStorage(await _catalog.CreateStorageAsync(new ConnectorConfiguration(store)));
        var opened = await EngineHarness.CreateAndOpenAsync(storage);
        await using var connector = await _catalog.CreateSourceAsync(new ConnectorConfiguration(source));
        return (opened, await EngineHarness.BackupAsync(opened, connector, source), storage);
    }

    private static async Task<(RestoreResult Result, int BatchReads)> RestoreAsync(CofferStore store, Snapshot snapshot, IDestinationConnector destination, RestoreOptions options)
    {
        var runner = new RestoreRunner(store, destination, new BackupProgress(), options);
        var result = await runner.RunAsync(snapshot, "", CancellationToken.None);
        return (result, runner.BatchReads);
    }

    [Test]
    public async Task Many_small_files_are_restored_from_a_few_pack_reads_not_one_read_per_file()
    {
        using var temp = new TemporaryDirectory("restore-small");
        var source = temp.Combine("source");
        var random = new Random(3);
        for (var i = 0; i < 600; i++)
        {
            Directory.CreateDirectory(Path.Combine(source, $"d{i % 7}"));
            TreeAssert.Write(source, $"d{i % 7}/f{i}.txt", TreeAssert.Bytes(random, 1 + random.Next(6000)), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var (store, snapshot, storage) = await BackUpAsync(temp.Combine("store"), source);
        await using (storage)
        {
            var target = temp.Combine("target");
            Directory.CreateDirectory(target);
            await using var destination = await _catalog.CreateDestinationAsync(new ConnectorConfiguration(target));

            storage.PackReads.Clear();
            var (result, reads) = await RestoreAsync(store, snapshot, destination, new RestoreOptions());

            Assert.That(result.Files, Is.EqualTo(600));
            Assert.That(reads, Is.LessThanOrEqualTo(2 * store.Index.Packs.Count), $"{reads} ranged reads for 600 files in {store.Index.Packs.Count} packs");
            // Counted at the storage itself: the batches' ranged reads plus one read per tree (root + 7 directories),
            // so no pack is opened per file. (Not yet one read per pack: trees are read per directory.)
            Assert.That(storage.PackReads.Values.Sum(), Is.LessThanOrEqualTo(reads + 8), $"pack reads at the storage: {string.Join(", ", storage.PackReads.Values)}");
            Assert.That(storage.PackReads.Keys, Is.SubsetOf(store.Index.Packs), "every pack read is one the index knows");
            TreeAssert.AreEqual(source, target, compareRootMtime: false);
        }
    }

    [Test]
    public async Task An_Azure_destination_skips_unchanged_blobs_verifies_them_and_deletes_what_the_snapshot_lacks()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        using var temp = new TemporaryDirectory("restore-azure");
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        var (store, snapshot, storage) = await BackUpAsync(temp.Combine("store"), source);
        await using (storage)
        {
            var container = $"restore-{Guid.NewGuid():N}";
            var blobs = azurite.CreateServiceClient().GetBlobContainerClient(container);
            var configuration = new ConnectorConfiguration($"azblob://{container}", new Dictionary<string, string> { ["connection_string"] = azurite.ConnectionString });
            await using var destination = await _catalog.CreateDestinationAsync(configuration);

            var first = (await RestoreAsync(store, snapshot, destination, new RestoreOptions())).Result;
            async Task<Dictionary<string, string>> ETagsAsync()
            {
                var tags = new Dictionary<string, string>();
                await foreach (var blob in blobs.GetBlobsAsync(new GetBlobsOptions()))
                {
                    tags[blob.Name] = blob.Properties.ETag.ToString()!;
                }

                return tags;
            }

            var etags = await ETagsAsync();
            var again = (await RestoreAsync(store, snapshot, destination, new RestoreOptions { Verify = true })).Result;
            Assert.That((first.Files, again.Files, again.Unchanged), Is.EqualTo((5L, 0L, 8L)));
            Assert.That(await ETagsAsync(), Is.EqualTo(etags), "a second restore rewrote blobs");

            // A blob changed behind the restore's back, with the same length and coffer_mtime: --verify catches it.
            var readme = blobs.GetBlobClient("readme.txt");
            var properties = (await readme.GetPropertiesAsync()).Value;
            await readme.UploadAsync(new BinaryData("HELLO COFFER\n"u8.ToArray()), new BlobUploadOptions { Metadata = properties.Metadata });
            var mismatch = Assert.ThrowsAsync<RestoreVerificationException>(() => RestoreAsync(store, snapshot, destination, new RestoreOptions { Verify = true }));
            Assert.That(mismatch!.Message, Does.Contain("1 restored files differ").And.Contain("\"readme.txt\""));

            await blobs.GetBlobClient("stray/old.txt").UploadAsync(new BinaryData("stray"u8.ToArray()));
            var fixedUp = (await RestoreAsync(store, snapshot, destination, new RestoreOptions { Overwrite = OverwritePolicy.Always, Delete = true, Verify = true })).Result;
            Assert.That((fixedUp.Files, fixedUp.Deleted), Is.EqualTo((5L, 2L)), "stray/old.txt and its directory");
            Assert.That((await blobs.GetBlobClient("readme.txt").DownloadContentAsync()).Value.Content.ToString(), Is.EqualTo("hello coffer\n"));
            Assert.That((await ETagsAsync()).Keys, Is.EquivalentTo(etags.Keys));
        }
    }
}
