using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Repository;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Backup;

public class FsRoundTripTests
{
    private ConnectorCatalog _catalog = null!;

    [OneTimeSetUp]
    public void Load() => _catalog = EngineHarness.LoadBundled();

    [OneTimeTearDown]
    public void Unload() => _catalog.Dispose();

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_tree_comes_back_byte_identical_with_modes_mtimes_and_symlinks(bool encrypted)
    {
        using var temp = new TemporaryDirectory("roundtrip");
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        Directory.SetLastWriteTimeUtc(source, TreeAssert.OldTime);

        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var restored = temp.Combine("restored");
        var snapshot = await EngineHarness.FsRoundTripAsync(_catalog, storage, source, restored, encrypted ? EngineHarness.Passphrase : null);

        TreeAssert.AreEqual(source, restored);
        Assert.That(snapshot.Summary.Files, Is.EqualTo(5));
        Assert.That(snapshot.Summary.Symlinks, Is.EqualTo(3));
    }

    [Test]
    public async Task A_subdirectory_or_a_single_file_restores_alone()
    {
        using var temp = new TemporaryDirectory("partial");
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        await using var connector = await _catalog.CreateSourceAsync(new ConnectorConfiguration(source));
        var snapshot = await EngineHarness.BackupAsync(store, connector, source);

        var docs = temp.Combine("docs");
        Directory.CreateDirectory(docs);
        await using (var destination = await _catalog.CreateDestinationAsync(new ConnectorConfiguration(docs)))
        {
            await EngineHarness.RestoreAsync(store, snapshot, destination, "docs");
        }

        TreeAssert.AreEqual(Path.Combine(source, "docs"), docs);

        var single = temp.Combine("single");
        Directory.CreateDirectory(single);
        await using (var destination = await _catalog.CreateDestinationAsync(new ConnectorConfiguration(single)))
        {
            await EngineHarness.RestoreAsync(store, snapshot, destination, "docs/deep/er/random.bin");
        }

        Assert.That(File.ReadAllBytes(Path.Combine(single, "random.bin")), SameBytes.As(File.ReadAllBytes(Path.Combine(source, "docs/deep/er/random.bin"))));
    }

    [Test]
    public async Task Excluded_paths_are_left_out()
    {
        using var temp = new TemporaryDirectory("exclude");
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        await using var connector = await _catalog.CreateSourceAsync(new ConnectorConfiguration(source));

        var snapshot = await EngineHarness.BackupAsync(store, connector, source, "*.log", "docs/deep");

        var paths = new List<string>();
        await foreach (var (path, _) in store.WalkAsync(snapshot.Root, "", CancellationToken.None))
        {
            paths.Add(path);
        }

        Assert.That(paths, Does.Contain("docs/empty"));
        Assert.That(paths, Has.None.Contains("text.log").And.None.Contains("deep"));
    }
}
