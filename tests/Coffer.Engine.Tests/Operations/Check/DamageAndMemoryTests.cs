using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Repository;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Check;

public class DamageAndMemoryTests
{
    [Test]
    public async Task A_damaged_pack_fails_check_naming_snapshot_and_file_while_other_files_still_restore()
    {
        using var temp = new TemporaryDirectory("damage");
        var coffer = CofferCli.WithPosix(temp);
        coffer.Environment["COFFER_PASSPHRASE"] = EngineHarness.Passphrase;
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "small.txt"), "small and safe\n");
        var random = new Random(21);
        File.WriteAllBytes(Path.Combine(source, "big.bin"), TreeAssert.Bytes(random, 40 << 20));
        var storeDirectory = temp.Combine("store");
        Assert.That((await coffer.RunAsync("at", storeDirectory, "create")).ExitCode, Is.Zero);
        Assert.That((await coffer.RunAsync("at", storeDirectory, "backup", source)).ExitCode, Is.Zero);

        // Find a data pack holding part of big.bin and nothing of small.txt, and flip a byte inside a blob.
        string damagedPack;
        long offset;
        string shortId;
        using (var catalog = EngineHarness.LoadBundled())
        await using (var storage = await catalog.CreateStorageAsync(new ConnectorConfiguration(storeDirectory)))
        {
            var store = await EngineHarness.ReopenAsync(storage);
            var snapshot = (await store.ListSnapshotsAsync(CancellationToken.None)).Single();
            shortId = snapshot.ShortId;
            var small = await store.ResolveAsync(snapshot, "small.txt", CancellationToken.None);
            var big = await store.ResolveAsync(snapshot, "big.bin", CancellationToken.None);
            store.Index.TryGet(BlobId.Parse(small.Content!.Single()), out var smallLocation);
            var candidates = big.Content!.Select(c => { store.Index.TryGet(BlobId.Parse(c), out var l); return l; }).Where(l => l.Pack != smallLocation.Pack).ToList();
            Assert.That(candidates, Is.Not.Empty, "big.bin spans several packs");
            damagedPack = candidates[0].Pack;
            offset = candidates[0].Offset + candidates[0].Length / 2;
        }

        var packFile = Directory.GetFiles(storeDirectory, damagedPack, SearchOption.AllDirectories).Single();
        await using (var stream = new FileStream(packFile, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = offset;
            var b = stream.ReadByte();
            stream.Position = offset;
            stream.WriteByte((byte)(b ^ 0x55));
        }

        var check = await coffer.RunAsync("at", storeDirectory, "check");
        Assert.That(check.ExitCode, Is.Not.Zero, check.ToString());
        Assert.That(check.Output, Does.Contain($"snapshot {shortId}: big.bin: file damaged"), check.ToString());
        Assert.That(check.Output, Does.Not.Contain("small.txt"), check.ToString());
        Assert.That(check.Error.Trim(), Does.StartWith("coffer: check failed").And.Contain($"damaged snapshots: {shortId}"), check.ToString());

        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", storeDirectory, "restore", "-to", restored, "latest:small.txt");
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        Assert.That(File.ReadAllText(Path.Combine(restored, "small.txt")), Is.EqualTo("small and safe\n"));

        var broken = await coffer.RunAsync("at", storeDirectory, "restore", "-to", temp.Combine("broken"), "latest:big.bin");
        CofferCli.AssertOneLineFailure(broken, "fails authentication");
    }

    [Test]
    public async Task Backing_up_a_2_GiB_file_keeps_peak_memory_bounded()
    {
        using var temp = new TemporaryDirectory("memory");
        var coffer = CofferCli.WithPosix(temp);
        coffer.Environment["COFFER_PASSPHRASE"] = EngineHarness.Passphrase;
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);

        // Sparse, with 1 MiB of random data every 64 MiB so the pipeline has real chunks to seal and pack.
        var file = Path.Combine(source, "huge.bin");
        var random = new Random(31);
        await using (var stream = File.Create(file))
        {
            stream.SetLength(2L << 30);
            var block = new byte[1 << 20];
            for (long at = 0; at < 2L << 30; at += 64 << 20)
            {
                random.NextBytes(block);
                stream.Position = at;
                stream.Write(block);
            }
        }

        var store = temp.Combine("store");
        Assert.That((await coffer.RunAsync("at", store, "create")).ExitCode, Is.Zero);
        var (result, peak) = await coffer.RunMeasuringAsync("at", store, "backup", source);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Output, Does.Contain("1 files"), result.ToString());
        Assert.That(peak, Is.GreaterThan(0).And.LessThan(400L << 20), $"peak RSS {peak >> 20} MiB");
        TestContext.Out.WriteLine($"peak RSS {peak >> 20} MiB: {result.Output.Trim()}");

        var cat = await coffer.RunMeasuringAsync("at", store, "check", "--fast");
        Assert.That(cat.Result.ExitCode, Is.Zero, cat.Result.ToString());
    }
}
