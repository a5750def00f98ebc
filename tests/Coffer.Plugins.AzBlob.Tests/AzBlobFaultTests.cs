using Azure.Storage.Blobs;
using Coffer.Abstractions;
using Coffer.Conformance.Support;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>
/// Every storage and volume operation of the azblob plugin against real Azurite through a seeded fault proxy
/// (resets, 500/503 bursts, 429/503 with Retry-After, slow answers, responses cut mid-body): each call succeeds
/// through retries or throws one <see cref="ConnectorException"/> with a one-line message and no secret, and
/// what a call reported done is whole when read back directly afterwards.
/// </summary>
[NonParallelizable]
public sealed class AzBlobFaultTests
{
    private static readonly Fault[] Faults =
    [
        new Fault.Reset(), new Fault.Status(500), new Fault.Status(503), new Fault.Status(503, 1), new Fault.Status(429, 1),
        new Fault.Delay(TimeSpan.FromMilliseconds(300)), new Fault.CutBody(100),
    ];

    private AzuriteServer _server = null!;
    private BlobContainerClient _container = null!;

    [SetUp]
    public async Task SetUpAsync()
    {
        _server = await AzBlobHarness.ServerAsync();
        _container = await _server.CreateContainerAsync("azfaults");
    }

    [TearDown]
    public async Task TearDownAsync() => await _container.DeleteIfExistsAsync();

    [TestCase(11, true)]
    [TestCase(12, false)]
    public async Task Storage_put_get_list_and_delete_through_faults_succeed_or_fail_clearly_and_a_done_put_reads_back_whole(int seed, bool outlastRetries)
    {
        await using var proxy = FaultProxy.Start(_server.Port);
        var location = AzBlobHarness.Location(_container, "store");
        await using var direct = await AzBlobHarness.Catalog.CreateStorageAsync(AzBlobHarness.Configuration(_server, location));
        await direct.CreateAsync("{\"config\":1}"u8.ToArray());
        await using var faulty = await AzBlobHarness.Catalog.CreateStorageAsync(Through(proxy, location));
        var random = new Random(seed);
        var attempted = new Dictionary<string, byte[]>();
        var stored = new Dictionary<string, byte[]>();
        var deleted = new HashSet<string>();
        var failures = 0;
        proxy.Decide = FaultProxy.Random(seed, 0.2, Faults);

        for (var i = 0; i < 40; i++)
        {
            var operation = stored.Count == 0 ? 0 : random.Next(10);
            var existing = stored.Count == 0 ? null : stored.Keys.Order(StringComparer.Ordinal).ElementAt(random.Next(stored.Count));
            try
            {
                switch (operation)
                {
                    case < 5:
                        var name = $"object-{i}";
                        var data = Bytes(random, random.Next(2) == 0 ? random.Next(100) : random.Next(3 << 20));
                        attempted[name] = data;
                        await faulty.PutAsync(StorageObjectClass.Packfile, name, new MemoryStream(data));
                        stored[name] = data;
                        break;
                    case < 7:
                        Assert.That(await ReadAllAsync(faulty, existing!), Is.EqualTo(stored[existing!]), $"get {existing} through faults");
                        break;
                    case 7:
                        var ranged = await faulty.GetAsync(StorageObjectClass.Packfile, existing!, offset: 1, length: 10);
                        await using (ranged)
                        {
                            using var copy = new MemoryStream();
                            await ranged.CopyToAsync(copy);
                            Assert.That(copy.ToArray(), Is.EqualTo(stored[existing!].Skip(1).Take(10).ToArray()), $"ranged get {existing}");
                        }

                        break;
                    case 8:
                        var listed = await AzBlobHarness.ToListAsync(faulty.ListAsync(StorageObjectClass.Packfile));
                        Assert.That(stored.Keys, Is.SubsetOf(listed.Select(o => o.Name)), "a listing has every object put before it");
                        break;
                    default:
                        await faulty.DeleteAsync(StorageObjectClass.Packfile, existing!);
                        stored.Remove(existing!);
                        deleted.Add(existing!);
                        break;
                }
            }
            catch (ConnectorException e)
            {
                failures++;
                AssertClear(e);
            }
        }

        if (outlastRetries)
        {
            // Faults that outlast the retries (each costs the SDK's whole back-off, so one seed does it): each call fails, with one clear line.
            var victim = stored.MaxBy(o => o.Value.Length).Key; // longer than the cut
            attempted["doomed"] = Bytes(random, 200_000);
            await AssertFailsClearlyAsync(proxy, new Fault.Reset(), () => faulty.PutAsync(StorageObjectClass.Packfile, "doomed", new MemoryStream(attempted["doomed"])));
            await AssertFailsClearlyAsync(proxy, new Fault.CutBody(1000), () => ReadAllAsync(faulty, victim));
            await AssertFailsClearlyAsync(proxy, new Fault.Status(503), () => AzBlobHarness.ToListAsync(faulty.ListAsync(StorageObjectClass.Packfile)));
            await AssertFailsClearlyAsync(proxy, new Fault.Status(500), () => faulty.DeleteAsync(StorageObjectClass.Packfile, victim));
        }

        proxy.Decide = _ => null;
        var objects = await AzBlobHarness.ToListAsync(direct.ListAsync(StorageObjectClass.Packfile));
        foreach (var (name, data) in stored)
        {
            Assert.That(await ReadAllAsync(direct, name), SameBytes.As(data), $"{name} was reported stored");
        }

        foreach (var name in objects.Select(o => o.Name))
        {
            // A put that failed may still have landed, but only whole.
            Assert.That(await ReadAllAsync(direct, name), Is.EqualTo(attempted[name]), $"{name} is whole");
        }

        Assert.That(objects.Select(o => o.Name), Is.SupersetOf(stored.Keys).And.No.AnyOf([.. deleted]));
        TestContext.Out.WriteLine($"seed {seed}: {proxy.FaultsInjected} faults in {proxy.Requests} requests; {failures} of 40 calls failed, {stored.Count} objects stored, {deleted.Count} deleted");
        Assert.That(proxy.FaultsInjected, Is.GreaterThan(5), "faults were injected");
    }

    [Test]
    public async Task Every_volume_operation_through_faults_succeeds_or_fails_clearly_and_an_acknowledged_block_reads_back_whole()
    {
        await using var proxy = FaultProxy.Start(_server.Port);
        var clock = new ManualClock();
        var settings = new VolumeSettings { BlobSignatureTtl = TimeSpan.FromHours(1), TrashLifetime = TimeSpan.FromDays(1) };
        await using var faulty = await AzBlobHarness.Catalog.CreateVolumeAsync(Through(proxy, AzBlobHarness.Location(_container), clock), settings);
        await using var direct = await AzBlobHarness.Catalog.CreateVolumeAsync(
            AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_container), new ConnectorContext { Time = clock }), settings);
        var random = new Random(21);
        var failures = new Dictionary<string, int>();
        async Task<bool> TryAsync(string operation, Func<Task> call)
        {
            try
            {
                await call();
                return true;
            }
            catch (ConnectorException e)
            {
                failures[operation] = failures.GetValueOrDefault(operation) + 1;
                AssertClear(e);
                return false;
            }
        }

        proxy.Decide = FaultProxy.Random(21, 0.2, Faults);
        var blocks = Enumerable.Range(0, 16).Select(_ => Bytes(random, 1 + random.Next(600_000))).ToDictionary(b => BlockHash.Compute(b));
        var acknowledged = new List<string>();
        foreach (var (hash, data) in blocks)
        {
            if (await TryAsync("write", () => faulty.WriteAsync(hash, data)))
            {
                acknowledged.Add(hash);
            }
        }

        foreach (var hash in acknowledged)
        {
            await TryAsync("read", async () =>
            {
                using var read = new MemoryStream();
                await faulty.ReadAsync(hash, read);
                Assert.That(read.ToArray(), SameBytes.As(blocks[hash]), $"read {hash} through faults: the block, or an error");
            });
            await TryAsync("compare", async () => Assert.That(await faulty.CompareAsync(hash, blocks[hash]), Is.EqualTo(BlockComparison.Identical)));
            await TryAsync("touch", () => faulty.TouchAsync(hash));
            await TryAsync("mtime", () => faulty.GetMtimeAsync(hash));
        }

        await TryAsync("index", async () =>
            Assert.That(acknowledged, Is.SubsetOf((await AzBlobHarness.ToListAsync(faulty.IndexAsync(""))).Select(b => b.Hash)), "the index lists every acknowledged block"));
        await TryAsync("status", () => faulty.GetStatusAsync());

        // Trash half (older than the signature TTL by now), untrash half of those, then empty the trash a day later.
        clock.Advance(TimeSpan.FromHours(2));
        var trashed = new List<string>();
        var unsure = new HashSet<string>();
        foreach (var hash in acknowledged.Where((_, i) => i % 2 == 0))
        {
            (await TryAsync("trash", () => faulty.TrashAsync(hash)) ? trashed : (ICollection<string>)unsure).Add(hash);
        }

        var untrashed = new List<string>();
        foreach (var hash in trashed.Where((_, i) => i % 2 == 0))
        {
            (await TryAsync("untrash", () => faulty.UntrashAsync(hash)) ? untrashed : (ICollection<string>)unsure).Add(hash);
        }

        clock.Advance(TimeSpan.FromDays(2));
        var emptied = await TryAsync("empty trash", () => faulty.EmptyTrashAsync());

        // Faults that outlast the retries: each call fails, with one clear line, and writes nothing.
        var doomedData = Bytes(random, 300_000);
        var doomed = BlockHash.Compute(doomedData);
        await AssertFailsClearlyAsync(proxy, new Fault.Status(503), () => faulty.WriteAsync(doomed, doomedData));
        await AssertFailsClearlyAsync(proxy, new Fault.CutBody(1000), () => faulty.ReadAsync(acknowledged[^1], Stream.Null));
        await AssertFailsClearlyAsync(proxy, new Fault.Reset(), () => faulty.TouchAsync(acknowledged[^1]));
        await AssertFailsClearlyAsync(proxy, new Fault.Status(500), () => faulty.TrashAsync(acknowledged[^1]));

        proxy.Decide = _ => null;
        Assert.ThrowsAsync<NotFoundException>(() => direct.ReadAsync(doomed, Stream.Null), "a write that failed left nothing");
        foreach (var hash in acknowledged)
        {
            var inTrash = trashed.Contains(hash) && !untrashed.Contains(hash);
            var mustBeGone = inTrash && emptied && !unsure.Contains(hash);
            var mustBeThere = !inTrash && !unsure.Contains(hash);
            using var read = new MemoryStream();
            try
            {
                await direct.ReadAsync(hash, read);
                Assert.That(mustBeGone, Is.False, $"{hash} was trashed and the trash emptied");
                Assert.That(read.ToArray(), SameBytes.As(blocks[hash]), $"acknowledged block {hash} is whole");
            }
            catch (NotFoundException)
            {
                Assert.That(mustBeThere, Is.False, $"acknowledged block {hash} is missing");
            }
        }

        foreach (var info in await AzBlobHarness.ToListAsync(direct.IndexAsync("")))
        {
            using var read = new MemoryStream();
            await direct.ReadAsync(info.Hash, read);
            Assert.That(BlockHash.Compute(read.ToArray()), Is.EqualTo(info.Hash), "a block written through faults is whole or absent");
        }

        TestContext.Out.WriteLine($"{proxy.FaultsInjected} faults in {proxy.Requests} requests; {acknowledged.Count} of 16 writes acknowledged; failures: {string.Join(", ", failures.Select(f => $"{f.Key} {f.Value}"))}");
        Assert.That(proxy.FaultsInjected, Is.GreaterThan(10), "faults were injected");
        Assert.That(acknowledged, Is.Not.Empty, "retries carry some writes through");
    }

    private static ConnectorConfiguration Through(FaultProxy proxy, string location, TimeProvider? clock = null) =>
        new(location, new Dictionary<string, string>
        {
            ["account_name"] = AzuriteServer.AccountName,
            ["account_key"] = AzuriteServer.AccountKey,
            ["endpoint"] = proxy.EndpointOf(AzuriteServer.AccountName).ToString(),
        }, clock is null ? null : new ConnectorContext { Time = clock });

    private static async Task AssertFailsClearlyAsync(FaultProxy proxy, Fault fault, Func<Task> call)
    {
        proxy.Decide = _ => fault;
        try
        {
            await call();
            Assert.Fail($"a call through nothing but {fault} succeeded");
        }
        catch (ConnectorException e)
        {
            AssertClear(e);
        }
        finally
        {
            proxy.Decide = _ => null;
        }
    }

    private static void AssertClear(ConnectorException e)
    {
        Assert.That(e.Message, Does.Not.Contain('\n'), $"one line: {e}");
        Assert.That(e.Message, Does.Not.Contain(AzuriteServer.AccountKey), "no secret in the message");
        Assert.That(e.Message, Does.Contain("azblob://"), $"names where: {e.Message}");
    }

    private static async Task<byte[]> ReadAllAsync(IStorageConnector storage, string name)
    {
        var stream = await storage.GetAsync(StorageObjectClass.Packfile, name);
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    private static byte[] Bytes(Random random, int length)
    {
        var data = new byte[length];
        random.NextBytes(data);
        return data;
    }
}
