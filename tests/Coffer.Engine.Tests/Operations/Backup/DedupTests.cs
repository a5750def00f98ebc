using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Repository;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Backup;

public class DedupTests
{
    private ConnectorCatalog _catalog = null!;

    [OneTimeSetUp]
    public void Load() => _catalog = EngineHarness.LoadBundled();

    [OneTimeTearDown]
    public void Unload() => _catalog.Dispose();

    private static long SizeOf(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    [Test]
    public async Task Backing_up_the_same_tree_twice_grows_the_store_by_under_one_percent()
    {
        using var temp = new TemporaryDirectory("dedup");
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        var random = new Random(11);
        for (var i = 0; i < 8; i++)
        {
            File.WriteAllBytes(Path.Combine(source, $"data{i}.bin"), TreeAssert.Bytes(random, 2_000_000));
        }

        var storeDirectory = temp.Combine("store");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(storeDirectory));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        await using var connector = await _catalog.CreateSourceAsync(new ConnectorConfiguration(source));
        await EngineHarness.BackupAsync(store, connector, source);
        var first = SizeOf(storeDirectory);

        // Also under another source name, so nothing is skipped as unchanged: every file is read and deduplicated.
        var second = await EngineHarness.BackupAsync(await EngineHarness.ReopenAsync(storage), connector, source + "-again");
        var grown = SizeOf(storeDirectory) - first;

        Assert.That(grown, Is.LessThan(first / 100), $"store grew by {grown} bytes over {first}");
        Assert.That(second.Summary.NewBlobs, Is.Zero);
        Assert.That(second.Summary.FilesUnchanged, Is.Zero);

        var third = await EngineHarness.BackupAsync(await EngineHarness.ReopenAsync(storage), connector, source);
        Assert.That(third.Summary.FilesUnchanged, Is.EqualTo(third.Summary.Files), "a re-backup of the same source reads no file again");
        Assert.That(SizeOf(storeDirectory) - first, Is.LessThan(first / 100));
    }

    [Test]
    public async Task No_pack_is_larger_than_the_pack_size_and_its_header()
    {
        using var temp = new TemporaryDirectory("packsize");
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);

        // Incompressible 3-7 MiB files: each a few large blobs, so a pack closed only after it overflowed
        // would overshoot the 16 MiB pack size by megabytes.
        var random = new Random(12);
        for (var i = 0; i < 12; i++)
        {
            File.WriteAllBytes(Path.Combine(source, $"data{i}.bin"), TreeAssert.Bytes(random, random.Next(3_000_000, 7_000_000)));
        }

        var storeDirectory = temp.Combine("store");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(storeDirectory));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        await using var connector = await _catalog.CreateSourceAsync(new ConnectorConfiguration(source));
        await EngineHarness.BackupAsync(store, connector, source);

        // Data packs are the only objects over 1 MiB; a header costs well under 64 KiB for these few blobs.
        var packs = new DirectoryInfo(storeDirectory).EnumerateFiles("*", SearchOption.AllDirectories).Where(f => f.Length > 1 << 20).ToList();
        Assert.That(packs, Has.Count.GreaterThanOrEqualTo(3));
        Assert.That(packs.Max(f => f.Length), Is.LessThanOrEqualTo(store.Config.PackSize + (64 << 10)));
    }

    [Test]
    public async Task A_re_backup_opens_only_the_files_that_changed_at_any_depth()
    {
        using var temp = new TemporaryDirectory("unchanged");
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        for (var i = 0; i < 24; i++)
        {
            var directory = Path.Combine(source, $"level{i % 4}", $"sub{i % 3}");
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, $"file{i}.txt"), $"content {i}\n");
        }

        var storeDirectory = temp.Combine("store");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(storeDirectory));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        await using var directorySource = await _catalog.CreateSourceAsync(new ConnectorConfiguration(source));
        var opened = new OpenRecordingSource(directorySource);
        await EngineHarness.BackupAsync(store, opened, source);
        Assert.That(opened.Paths, Has.Member("docs/deep/er/random.bin").And.Member("level3/sub2/file11.txt"), "the first backup reads every file");

        // Unchanged: nothing is opened. Then one file deep down and one at the top change: only they are.
        opened.Paths.Clear();
        await EngineHarness.BackupAsync(await EngineHarness.ReopenAsync(storage), opened, source);
        Assert.That(opened.Paths, Is.Empty);

        File.AppendAllText(Path.Combine(source, "level3", "sub2", "file11.txt"), "changed\n");
        File.AppendAllText(Path.Combine(source, "readme.txt"), "changed\n");
        var changed = await EngineHarness.BackupAsync(await EngineHarness.ReopenAsync(storage), opened, source);
        Assert.That(opened.Paths, Is.EquivalentTo(new[] { "level3/sub2/file11.txt", "readme.txt" }));
        Assert.That(changed.Summary.FilesUnchanged, Is.EqualTo(changed.Summary.Files - 2));
    }

    /// <summary>The real directory source, recording which files the engine opens.</summary>
    private sealed class OpenRecordingSource(ISourceConnector inner) : ISourceConnector
    {
        public System.Collections.Concurrent.ConcurrentBag<string> Paths { get; } = [];

        public string Description => inner.Description;

        public IAsyncEnumerable<TreeEntry> ScanAsync(CancellationToken cancellationToken = default) => inner.ScanAsync(cancellationToken);

        public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
        {
            Paths.Add(path);
            return inner.OpenReadAsync(path, cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Test]
    public async Task Changing_one_byte_in_the_middle_of_a_100_MiB_file_adds_at_most_a_few_chunks()
    {
        using var temp = new TemporaryDirectory("onebyte");
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);
        var file = Path.Combine(source, "big.bin");
        var random = new Random(12);
        await using (var stream = File.Create(file))
        {
            var block = new byte[1 << 20];
            for (var i = 0; i < 100; i++)
            {
                random.NextBytes(block);
                stream.Write(block);
            }
        }

        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        await using var connector = await _catalog.CreateSourceAsync(new ConnectorConfiguration(source));
        var first = await EngineHarness.BackupAsync(store, connector, source);

        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = 50 << 20;
            var b = stream.ReadByte();
            stream.Position = 50 << 20;
            stream.WriteByte((byte)(b ^ 0xff));
        }

        var second = await EngineHarness.BackupAsync(await EngineHarness.ReopenAsync(storage), connector, source);

        // New blobs: the changed chunk (two if the change moved a boundary) and the root tree.
        Assert.That(first.Summary.NewBlobs, Is.GreaterThan(50));
        Assert.That(second.Summary.NewBlobs, Is.LessThanOrEqualTo(3), $"{second.Summary.NewBlobs} new blobs");
        Assert.That(second.Summary.NewBytesStored, Is.LessThan(2 * 8 << 20 + 4096));
    }
}

public class InterruptedBackupReuseTests
{
    [Test]
    public async Task An_interrupted_backup_indexes_the_packs_it_uploaded_and_the_next_run_reuses_them()
    {
        using var catalog = EngineHarness.LoadBundled();
        using var temp = new TemporaryDirectory("interrupt");
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);
        File.WriteAllBytes(Path.Combine(source, "big.bin"), TreeAssert.Bytes(new Random(41), 120 << 20));
        var storeDirectory = temp.Combine("store");
        await using var storage = await catalog.CreateStorageAsync(new ConnectorConfiguration(storeDirectory));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        await using var connector = await catalog.CreateSourceAsync(new ConnectorConfiguration(source));

        // Interrupt once four packs are in the store, as a Ctrl-C would (the last may still be on its way).
        using var interrupt = new CancellationTokenSource();
        var packs = Path.Combine(storeDirectory, "packfiles");
        var watcher = Task.Run(async () =>
        {
            while (!interrupt.IsCancellationRequested)
            {
                if (Directory.Exists(packs) && Directory.GetFiles(packs, "*", SearchOption.AllDirectories).Count(f => !Path.GetFileName(f).StartsWith('.')) >= 4)
                {
                    await interrupt.CancelAsync();
                }

                await Task.Delay(20);
            }
        });
        var runner = new BackupRunner(store, connector, new BackupRequest(source, [], []), TimeProvider.System, Environment.MachineName, new BackupProgress());
        Assert.That(async () => await runner.RunAsync(interrupt.Token), Throws.InstanceOf<OperationCanceledException>());
        await watcher;
        Assert.That(await store.ListSnapshotsAsync(CancellationToken.None), Is.Empty, "no snapshot from an interrupted backup");

        var resumed = await EngineHarness.BackupAsync(await EngineHarness.ReopenAsync(storage), connector, source);

        Assert.That(resumed.Summary.NewBytesStored, Is.LessThan((120 << 20) - (40 << 20)), "at least three uploaded packs were reused");
        var check = await new Checker(await EngineHarness.ReopenAsync(storage)).RunAsync([resumed], fast: false, CancellationToken.None);
        Assert.That(check.Problems, Is.Empty);
    }
}
