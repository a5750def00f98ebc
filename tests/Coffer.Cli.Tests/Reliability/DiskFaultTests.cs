using System.Diagnostics;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// Volumes and stores on small tmpfs filesystems mounted for the test (we run as root here and on CI):
/// a volume under its <c>min_free</c>, a write that runs out of room half-way, a filesystem remounted
/// read-only, a store that fills up. Errors are one line, nothing partial is left, and keepstore moves
/// writes to the next volume.
/// </summary>
[NonParallelizable]
public class DiskFaultTests
{
    private readonly List<string> _mounts = [];
    private TemporaryDirectory _root = null!;

    [SetUp]
    public void CreateRoot() => _root = new TemporaryDirectory("disk");

    [TearDown]
    public void UnmountAndDelete()
    {
        // Innermost first; lazy, so a process still holding a file cannot keep the mount (or fail the next test).
        foreach (var mount in Enumerable.Reverse(_mounts))
        {
            Run("umount", "-l", mount);
        }

        _mounts.Clear();
        _root.Dispose();
    }

    [Test]
    public async Task A_volume_below_min_free_is_skipped_and_the_write_lands_on_the_next_volume()
    {
        var coffer = KeepstoreProcess.CofferWithPlugins(_root);
        // 3 MiB is far below the default min_free of one block (64 MiB): the volume counts as full from the start.
        var small = Mount(_root.Combine("small"), "3m");
        var large = Directory.CreateDirectory(_root.Combine("large")).FullName;
        var random = new Random(31);
        var blocks = new List<(string Locator, byte[] Data)>();
        await using (var keep = await KeepstoreProcess.StartAsync(coffer, "-volume", small, "-volume", large))
        {
            for (var i = 0; i < 6; i++)
            {
                var block = TreeAssert.Bytes(random, 300_000);
                blocks.Add((await keep.PutBlockAsync(block), block));
            }

            foreach (var (locator, data) in blocks)
            {
                var (status, content) = await keep.GetBlockAsync(locator);
                Assert.That(status, Is.EqualTo(200), locator);
                Assert.That(content, SameBytes.As(data), locator);
            }

            Assert.That(keep.Log, Does.Contain("full, "), "the full volume was tried and skipped");
        }

        Assert.That(Files(small), Is.Empty, "nothing written to the full volume");
        AssertOnlyWholeBlocks(large, expected: 6);

        await using var alone = await KeepstoreProcess.StartAsync(coffer, "-volume", small);
        var lone = TreeAssert.Bytes(random, 300_000);
        using var response = await alone.PutAsync(KeepstoreProcess.Md5(lone), lone);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(507), body);
        Assert.That(body.Trim(), Is.EqualTo("Full"));
        Assert.That(Files(small), Is.Empty, "a refused PUT stores nothing");
    }

    [Test]
    public async Task A_write_that_runs_out_of_room_half_way_moves_to_the_next_volume_and_leaves_nothing_behind()
    {
        var coffer = KeepstoreProcess.CofferWithPlugins(_root);
        // The volume's own filesystem has plenty free, so the min_free check passes; the block's shard
        // directory is a 256 KiB tmpfs, so the 1 MB write hits ENOSPC part-way: the disk filling up
        // between the check and the write, made certain.
        var random = new Random(7);
        var (first, second) = TwoBlocksSharingAShard(random, 1_000_000);
        var shard = KeepstoreProcess.Md5(first)[..3];
        var tight = Directory.CreateDirectory(_root.Combine("tight")).FullName;
        var shardMount = Mount(Path.Combine(tight, shard), "256k");
        var large = Directory.CreateDirectory(_root.Combine("large")).FullName;

        await using (var keep = await KeepstoreProcess.StartAsync(coffer, "-volume", tight, "-volume", large))
        {
            // Round-robin starts the two PUTs on different volumes: one of them must hit the full shard.
            var locators = new[] { await keep.PutBlockAsync(first), await keep.PutBlockAsync(second) };
            Assert.That(keep.Log, Does.Contain($"full, "), "a write ran out of room and moved on");
            Assert.That((await keep.GetBlockAsync(locators[0])).Content, Is.EqualTo(first));
            Assert.That((await keep.GetBlockAsync(locators[1])).Content, Is.EqualTo(second));
        }

        Assert.That(Files(shardMount), Is.Empty, "no partial block or temp file on the full filesystem");
        AssertOnlyWholeBlocks(large, expected: 2);

        await using var alone = await KeepstoreProcess.StartAsync(coffer, "-volume", tight);
        using var response = await alone.PutAsync(KeepstoreProcess.Md5(first), first);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(507), $"{body}\n{alone.Log}");
        Assert.That(body.Trim(), Is.EqualTo("Full"));
        Assert.That(Files(tight), Is.Empty, "with no other volume the PUT fails and stores nothing");
    }

    [Test]
    public async Task A_volume_remounted_read_only_still_serves_its_blocks_and_writes_go_elsewhere()
    {
        var coffer = KeepstoreProcess.CofferWithPlugins(_root);
        // Larger than min_free, so only the read-only mount (not the free-space check) stops writes.
        var turning = Mount(_root.Combine("turning"), "100m");
        var large = Directory.CreateDirectory(_root.Combine("large")).FullName;
        var random = new Random(41);
        var blocks = new List<(string Locator, byte[] Data)>();
        await using (var keep = await KeepstoreProcess.StartAsync(coffer, "-volume", turning, "-volume", large))
        {
            for (var i = 0; i < 4; i++)
            {
                var block = TreeAssert.Bytes(random, 200_000);
                blocks.Add((await keep.PutBlockAsync(block), block));
            }

            var before = Files(turning);
            Assert.That(before, Is.Not.Empty, "round-robin wrote to the volume before it turned read-only");
            Run("mount", "-o", "remount,ro", turning);

            for (var i = 0; i < 4; i++)
            {
                var block = TreeAssert.Bytes(random, 200_000);
                blocks.Add((await keep.PutBlockAsync(block), block));
            }

            foreach (var (locator, data) in blocks)
            {
                var (status, content) = await keep.GetBlockAsync(locator);
                Assert.That(status, Is.EqualTo(200), $"{locator}\n{keep.Log}");
                Assert.That(content, SameBytes.As(data), locator);
            }

            Assert.That(keep.Log, Does.Contain("read-only filesystem"), "the refused write is logged as such");
            Assert.That(Files(turning), Is.EqualTo(before), "nothing more on the read-only volume");
        }

        AssertOnlyWholeBlocks(turning, expected: Files(turning).Count);
        AssertOnlyWholeBlocks(large, expected: 8 - Files(turning).Count);

        await using var alone = await KeepstoreProcess.StartAsync(coffer, "-volume", turning);
        var lone = TreeAssert.Bytes(random, 200_000);
        using var response = await alone.PutAsync(KeepstoreProcess.Md5(lone), lone);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(500), body);
        Assert.That(body.Trim(), Does.Not.Contain('\n'), "one line");
        var kept = new FileInfo(Files(turning)[0]);
        Assert.That((await alone.GetBlockAsync($"{kept.Name}+{kept.Length}")).Content, SameBytes.As(File.ReadAllBytes(kept.FullName)), "the read-only volume still serves its blocks");
    }

    [Test]
    public async Task A_store_that_fills_up_fails_backup_with_one_line_stays_consistent_and_backs_up_once_space_frees()
    {
        var coffer = CofferCli.WithPosix(_root);
        var filesystem = Mount(_root.Combine("fs"), "4m");
        var store = Path.Combine(filesystem, "store");
        Assert.That((await coffer.RunAsync("at", store, "create", "--plaintext")).ExitCode, Is.Zero);
        var source = Directory.CreateDirectory(_root.Combine("source")).FullName;
        File.WriteAllText(Path.Combine(source, "small.txt"), "fits\n");
        Assert.That((await coffer.RunAsync("at", store, "backup", source)).ExitCode, Is.Zero);

        // Random bytes do not compress: 8 MiB cannot fit in what is left of 4 MiB.
        File.WriteAllBytes(Path.Combine(source, "big.bin"), TreeAssert.Bytes(new Random(4), 8 << 20));
        var full = await coffer.RunAsync("at", store, "backup", source);
        AssertFailsWithOneLine(full, "is full");
        Assert.That(Files(store).Where(f => Path.GetFileName(f).StartsWith('.')), Is.Empty, "no temp file left in the store");
        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.ExitCode, Is.Zero, $"a store that ran out of room is consistent\n{check}");
        Assert.That(SnapshotCount(await coffer.RunAsync("at", store, "ls")), Is.EqualTo(1), "the failed backup made no snapshot");

        Run("mount", "-o", "remount,size=64m", filesystem);
        var later = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(later.ExitCode, Is.Zero, later.ToString());
        var restored = _root.Combine("restored");
        var restore = await coffer.RunAsync("at", store, "restore", "-to", restored, "latest");
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);
        Assert.That((await coffer.RunAsync("at", store, "check")).ExitCode, Is.Zero);
    }

    [Test]
    public async Task A_store_remounted_read_only_refuses_backup_with_one_line_and_still_reads_as_read_only()
    {
        var coffer = CofferCli.WithPosix(_root);
        var filesystem = Mount(_root.Combine("fs"), "16m");
        var store = Path.Combine(filesystem, "store");
        Assert.That((await coffer.RunAsync("at", store, "create", "--plaintext")).ExitCode, Is.Zero);
        var source = _root.Combine("source");
        TreeAssert.BuildSample(source, seed: 5);
        Assert.That((await coffer.RunAsync("at", store, "backup", source)).ExitCode, Is.Zero);

        Run("mount", "-o", "remount,ro", filesystem);
        File.WriteAllText(Path.Combine(source, "changed.txt"), "changed\n");
        AssertFailsWithOneLine(await coffer.RunAsync("at", store, "backup", source), "read-only filesystem");
        // Even a reader takes a lock by default; the message says how to read without one.
        AssertFailsWithOneLine(await coffer.RunAsync("at", store, "check"), "read_only=true");

        Assert.That((await coffer.RunAsync("store", "add", "frozen", store, "read_only=true")).ExitCode, Is.Zero);
        var check = await coffer.RunAsync("at", "@frozen", "check");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(SnapshotCount(await coffer.RunAsync("at", "@frozen", "ls")), Is.EqualTo(1));
        var restored = _root.Combine("restored");
        var restore = await coffer.RunAsync("at", "@frozen", "restore", "-to", restored, "latest");
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        File.Delete(Path.Combine(source, "changed.txt"));
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);
    }

    private static void AssertFailsWithOneLine(CofferResult result, string saying)
    {
        Assert.That(result.ExitCode, Is.Not.Zero, result.ToString());
        Assert.That(result.Error.Trim().Split('\n'), Has.Length.EqualTo(1), result.ToString());
        Assert.That(result.Error, Does.Contain(saying).And.Not.Contain("internal error"), result.ToString());
    }

    private static int SnapshotCount(CofferResult ls) =>
        ls.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    private static List<string> Files(string directory) =>
        [.. Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    /// <summary>Two blocks of <paramref name="size"/> bytes whose hashes share their first three digits (their shard).</summary>
    private static (byte[], byte[]) TwoBlocksSharingAShard(Random random, int size)
    {
        var seen = new Dictionary<string, byte[]>();
        while (true)
        {
            var block = TreeAssert.Bytes(random, size);
            if (seen.TryGetValue(KeepstoreProcess.Md5(block)[..3], out var other))
            {
                return (other, block);
            }

            seen.Add(KeepstoreProcess.Md5(block)[..3], block);
        }
    }

    private static void AssertOnlyWholeBlocks(string volume, int expected)
    {
        var files = Files(volume);
        foreach (var file in files)
        {
            var name = Path.GetFileName(file);
            Assert.That(name, Has.Length.EqualTo(32), $"{file}: nothing but blocks on the volume (no partial or temp files)");
            Assert.That(KeepstoreProcess.Md5(File.ReadAllBytes(file)), Is.EqualTo(name), $"{file} is whole");
        }

        Assert.That(files, Has.Count.EqualTo(expected), volume);
    }

    private string Mount(string directory, string size)
    {
        Directory.CreateDirectory(directory);
        // Mounting needs root, which the suite has here and on CI; without it this test must fail, never skip.
        Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0755", "tmpfs", directory);
        _mounts.Add(directory);
        return directory;
    }

    private static void Run(params string[] args)
    {
        var info = new ProcessStartInfo(args[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args[1..])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, $"'{string.Join(' ', args)}' failed (disk fault tests mount tmpfs filesystems and need root): {error}");
    }
}
