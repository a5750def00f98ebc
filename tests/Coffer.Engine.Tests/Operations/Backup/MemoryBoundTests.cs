using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Restore;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Backup;

/// <summary>
/// Backup and restore hold what is in flight, not the tree: a directory's tree is written (and its entries
/// dropped) once its content is done, the parent snapshot's trees are read per directory as the scan reaches
/// it, and a restored directory is let go once its files are written. Checked on a tree whose size is many
/// times the bounds, through the runners' peak counters.
/// </summary>
public class MemoryBoundTests
{
    private const int Depth = 4;
    private const int Subdirectories = 4;
    private const int FilesPerDirectory = 8;
    private const int FanOut = Subdirectories + FilesPerDirectory;

    [Test]
    public async Task Backup_and_restore_hold_the_open_path_and_the_files_in_flight_not_the_tree()
    {
        using var temp = new TemporaryDirectory("memory-bound");
        var source = temp.Combine("source");
        var (directories, files) = Build(source, "", Depth);
        Assert.That(files, Is.GreaterThan(2500), "the tree is many times any bound below");

        using var catalog = EngineHarness.LoadBundled();
        var storage = new CountingStorage(await catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store"))));
        await using var _ = storage;
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        await using var connector = await catalog.CreateSourceAsync(new ConnectorConfiguration(source));

        // First backup: every file is read. Held: the directories along the open path with their entries, and
        // those the scan has left whose trees are not written yet (at most as many as files in flight).
        const int queued = 16;
        const int bound = (queued + BackupRunner.Readers + Depth + 1) * FanOut;
        var first = new BackupRunner(store, connector, new BackupRequest(source, [], []), TimeProvider.System, Environment.MachineName, new BackupProgress()) { QueuedFiles = queued };
        var firstResult = await first.RunAsync(CancellationToken.None);
        Assert.That(firstResult.Warnings, Is.Empty);
        Assert.That(firstResult.Snapshot.Summary.Files, Is.EqualTo(files));
        Assert.That(firstResult.Snapshot.Summary.Directories, Is.EqualTo(directories));
        Assert.That(first.PeakLiveEntries, Is.LessThanOrEqualTo(bound), "entry states held by the first backup");

        // Unchanged re-backup: no file is read; the parent snapshot's trees are held along the open path only
        // (each open directory's and the few read ahead of the scan).
        var again = new BackupRunner(store, connector, new BackupRequest(source, [], []), TimeProvider.System, Environment.MachineName, new BackupProgress()) { QueuedFiles = queued };
        var againResult = await again.RunAsync(CancellationToken.None);
        var summary = againResult.Snapshot.Summary;
        Assert.That((summary.Files, summary.FilesUnchanged, summary.Directories, summary.NewBlobs), Is.EqualTo((files, files, directories, 0)), "nothing read again, no new blob");
        Assert.That(againResult.Snapshot.Root.Subtree, Is.EqualTo(firstResult.Snapshot.Root.Subtree), "the same tree gives the same tree blobs");
        Assert.That(again.PeakLiveEntries, Is.LessThanOrEqualTo(bound), "entry states held by the re-backup");
        Assert.That(again.PeakParentTrees, Is.LessThanOrEqualTo((Depth + 1) * (BackupRunner.ReadAheadTrees + 1)), "parent snapshot trees held");

        // Restore with small batches: the directories held wait for the files in flight or are on the walk's path.
        var target = Directory.CreateDirectory(temp.Combine("target")).FullName;
        await using var destination = await catalog.CreateDestinationAsync(new ConnectorConfiguration(target));
        const int batchFiles = 8;
        var restore = new RestoreRunner(store, destination, new BackupProgress()) { BatchFiles = batchFiles };
        storage.PackReads.Clear();
        var restored = await restore.RunAsync(againResult.Snapshot, "", CancellationToken.None);
        Assert.That(restored.Files, Is.EqualTo(files));
        TreeAssert.AreEqual(source, target);
        Assert.That(restore.PeakOpenDirectories, Is.LessThanOrEqualTo((2 * RestoreRunner.Writers * batchFiles) + Depth + 1), "restored directories held");

        // The walk reads a directory's subdirectories' trees as one batch: the tree pack once per directory that has subdirectories (and the root), not once per directory.
        Assert.That(store.Index.TryGet(BlobId.Parse(againResult.Snapshot.Root.Subtree!), out var rootTree), Is.True);
        var withSubdirectories = directories - (int)Math.Pow(Subdirectories, Depth);
        Assert.That(storage.PackReads[rootTree.Pack], Is.LessThanOrEqualTo(withSubdirectories + 1), $"tree pack reads for {directories} directories");
    }

    /// <summary>A directory with <see cref="FilesPerDirectory"/> small files and, above the last level, <see cref="Subdirectories"/> subdirectories like it.</summary>
    private static (int Directories, int Files) Build(string root, string name, int levels)
    {
        var path = Path.Combine(root, name);
        Directory.CreateDirectory(path);
        var (directories, files) = (1, FilesPerDirectory);
        for (var i = 0; i < FilesPerDirectory; i++)
        {
            File.WriteAllText(Path.Combine(path, $"f{i}.txt"), $"{name}/{i}");
            File.SetLastWriteTimeUtc(Path.Combine(path, $"f{i}.txt"), TreeAssert.OldTime);
        }

        for (var i = 0; levels > 0 && i < Subdirectories; i++)
        {
            var below = Build(path, $"d{i}", levels - 1);
            directories += below.Directories;
            files += below.Files;
        }

        return (directories, files);
    }
}
