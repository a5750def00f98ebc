using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Repository;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Backup;

public class AzureRoundTripTests
{
    private ConnectorCatalog _catalog = null!;
    private AzuriteServer _azurite = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _catalog = EngineHarness.LoadBundled();
        _azurite = await AzuriteServer.GetSharedAsync();
    }

    [OneTimeTearDown]
    public void Stop() => _catalog.Dispose();

    private ConnectorConfiguration Container(string name) =>
        new($"azblob://{name}", new Dictionary<string, string> { ["connection_string"] = _azurite.ConnectionString });

    [Test]
    public async Task Azure_source_to_store_to_Azure_destination_keeps_content_metadata_and_content_type()
    {
        var service = _azurite.CreateServiceClient();
        var source = await _azurite.CreateContainerAsync("src", service);
        var random = new Random(7);
        var expected = new Dictionary<string, byte[]>();
        foreach (var (name, size) in new[] { ("a.txt", 10), ("dir/big.bin", 3_000_000), ("dir/sub/empty", 0) })
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            expected[name] = bytes;
            await source.GetBlobClient(name).UploadAsync(new BinaryData(bytes), new Azure.Storage.Blobs.Models.BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/x-test" },
                Metadata = new Dictionary<string, string> { ["owner"] = "alice" },
            });
        }

        var storeContainer = $"store-{Guid.NewGuid():N}";
        var target = $"restore-{Guid.NewGuid():N}";
        await using var storage = await _catalog.CreateStorageAsync(Container(storeContainer));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        await using (var connector = await _catalog.CreateSourceAsync(Container(source.Name)))
        {
            var snapshot = await EngineHarness.BackupAsync(store, connector, $"azblob://{source.Name}");
            await using var destination = await _catalog.CreateDestinationAsync(Container(target));
            await EngineHarness.RestoreAsync(store, snapshot, destination);
        }

        var restored = service.GetBlobContainerClient(target);
        foreach (var (name, bytes) in expected)
        {
            var blob = restored.GetBlobClient(name);
            var content = (await blob.DownloadContentAsync()).Value;
            Assert.That(content.Content.ToArray(), SameBytes.As(bytes), name);
            Assert.That(content.Details.ContentType, Is.EqualTo("application/x-test"), name);
            Assert.That(content.Details.Metadata["owner"], Is.EqualTo("alice"), name);
        }

        var check = await new Checker(await EngineHarness.ReopenAsync(storage)).RunAsync(await store.ListSnapshotsAsync(CancellationToken.None), fast: false, CancellationToken.None);
        Assert.That(check.Problems, Is.Empty);
    }

    [Test]
    public async Task Fs_to_a_store_on_Azurite_to_fs_is_byte_identical_with_modes_mtimes_and_symlinks()
    {
        using var temp = new TemporaryDirectory("azstore");
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        Directory.SetLastWriteTimeUtc(source, TreeAssert.OldTime);

        await using var storage = await _catalog.CreateStorageAsync(Container($"store-{Guid.NewGuid():N}/some/prefix"));
        var restored = temp.Combine("restored");
        await EngineHarness.FsRoundTripAsync(_catalog, storage, source, restored);

        TreeAssert.AreEqual(source, restored);
    }
}
