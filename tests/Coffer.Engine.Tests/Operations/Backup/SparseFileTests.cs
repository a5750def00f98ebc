using System.Security.Cryptography;
using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Dump;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Backup;

/// <summary>Files with holes through the engine: read by their data runs, stored with extents, restored sparse (docs/store-format.md, "Sparse files").</summary>
public class SparseFileTests
{
    private ConnectorCatalog _catalog = null!;

    [OneTimeSetUp]
    public void Load() => _catalog = EngineHarness.LoadBundled();

    [OneTimeTearDown]
    public void Unload() => _catalog.Dispose();

    [Test]
    public async Task A_file_with_holes_is_read_by_its_data_alone_stored_with_extents_and_restored_the_same_sparse_on_disk_and_as_zeros_to_azure()
    {
        using var temp = new TemporaryDirectory("engine-sparse");
        var source = temp.Combine("source");
        SparseFiles.WriteSample(source);
        File.WriteAllText(Path.Combine(source, "dense.txt"), "no holes here\n");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage, passphrase: null);
        Snapshot first, second;
        await using (var connector = await _catalog.CreateSourceAsync(new ConnectorConfiguration(source)))
        {
            first = await EngineHarness.BackupAsync(store, connector, source);
            second = await EngineHarness.BackupAsync(store, connector, source);
        }

        // Only the data was read: the 8 + 2 MiB of holes were not (ext4 reports the written runs exactly; allow a block or so).
        var dense = new FileInfo(Path.Combine(source, "dense.txt")).Length;
        Assert.That(first.Summary.BytesRead, Is.InRange(SparseFiles.SampleDataBytes + dense, SparseFiles.SampleDataBytes + dense + FileExtents.MinimumHole));
        Assert.That(first.Summary.Bytes, Is.EqualTo(SparseFiles.SampleLength + (2 << 20) + dense));

        var nodes = (await store.ReadTreeAsync(BlobId.Parse(first.Root.Subtree!), CancellationToken.None)).Entries.ToDictionary(n => n.Name);
        Assert.That(nodes["holes.img"].Extents, Is.EqualTo(SparseFiles.SampleRuns.Select(r => new[] { r.Offset, r.Length })), "the data runs, holes leading, between and trailing");
        Assert.That(nodes["holes.img"].Size, Is.EqualTo(SparseFiles.SampleLength));
        Assert.That(nodes["all-hole.img"].Extents, Is.Empty, "a file that is all hole has no runs");
        Assert.That(nodes["all-hole.img"].Content, Is.Empty, "and no chunks");
        Assert.That(nodes["dense.txt"].Extents, Is.Null, "a file without holes is stored as before");
        using (var file = File.OpenRead(Path.Combine(source, "holes.img")))
        {
            using var runs = new MemoryStream();
            foreach (var run in SparseFiles.SampleRuns)
            {
                var data = new byte[run.Length];
                file.Position = run.Offset;
                file.ReadExactly(data);
                runs.Write(data);
            }

            Assert.That(nodes["holes.img"].Sha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(runs.ToArray()))), "the digest covers the runs, the holes are not hashed");
        }

        // Unchanged since the parent: nothing read, and the same nodes (extents included), so the same tree.
        Assert.That(second.Summary.FilesUnchanged, Is.EqualTo(3));
        Assert.That(second.Summary.BytesRead, Is.Zero);
        Assert.That(second.Root.Subtree, Is.EqualTo(first.Root.Subtree));

        var check = await new Checker(store).RunAsync([first], fast: false, CancellationToken.None);
        Assert.That(check.Problems, Is.Empty, "a full check hashes the stored runs against the recorded SHA-256");

        var restored = temp.Combine("restored");
        Directory.CreateDirectory(restored);
        await using (var destination = await _catalog.CreateDestinationAsync(new ConnectorConfiguration(restored)))
        {
            await EngineHarness.RestoreAsync(store, first, destination);
        }

        foreach (var name in new[] { "holes.img", "all-hole.img", "dense.txt" })
        {
            Assert.That(SparseFiles.Sha256(Path.Combine(restored, name)), Is.EqualTo(SparseFiles.Sha256(Path.Combine(source, name))), name);
        }

        Assert.That(SparseFiles.AllocatedBytes(Path.Combine(restored, "holes.img")), Is.LessThan(1 << 20), "holes stay holes");
        Assert.That(SparseFiles.AllocatedBytes(Path.Combine(restored, "all-hole.img")), Is.Zero);

        using var dumped = new MemoryStream();
        await new SnapshotDump(store).WriteAsync(first, nodes["holes.img"], "holes.img", DumpFormat.Content, dumped, CancellationToken.None);
        Assert.That(Convert.ToHexString(SHA256.HashData(dumped.ToArray())), Is.EqualTo(SparseFiles.Sha256(Path.Combine(source, "holes.img"))), "dump writes the holes as zeros");

        // A destination without holes gets the zeros.
        var azurite = await AzuriteServer.GetSharedAsync();
        var container = $"sparse-{Guid.NewGuid():N}";
        await using (var destination = await _catalog.CreateDestinationAsync(new ConnectorConfiguration($"azblob://{container}", new Dictionary<string, string> { ["connection_string"] = azurite.ConnectionString })))
        {
            await EngineHarness.RestoreAsync(store, first, destination, "holes.img");
        }

        var blob = await azurite.CreateServiceClient().GetBlobContainerClient(container).GetBlobClient("holes.img").DownloadContentAsync();
        Assert.That(blob.Value.Content.ToArray(), SameBytes.As(File.ReadAllBytes(Path.Combine(source, "holes.img"))));
    }
}
