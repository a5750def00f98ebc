using System.Diagnostics;
using System.Globalization;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;
using Coffer.Conformance.Support;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>What only the Azure volume does: keepstore's layout and trash metadata, the empty-blob race, sharing across processes.</summary>
[TestFixture]
public sealed class AzBlobVolumeTests
{
    private AzuriteServer _server = null!;
    private BlobContainerClient _container = null!;
    private ManualClock _clock = null!;

    [SetUp]
    public async Task SetUpAsync()
    {
        _server = await AzBlobHarness.ServerAsync();
        _container = await _server.CreateContainerAsync("azvol");
        _clock = new ManualClock();
    }

    [TearDown]
    public async Task TearDownAsync() => await _container.DeleteIfExistsAsync();

    private async Task<IVolume> OpenAsync(VolumeSettings? settings = null, Dictionary<string, string>? extra = null)
    {
        var options = new Dictionary<string, string> { ["connection_string"] = _server.ConnectionString };
        foreach (var (key, value) in extra ?? [])
        {
            options[key] = value;
        }

        return await AzBlobHarness.Catalog.CreateVolumeAsync(
            AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_container), new ConnectorContext { Time = _clock }, options),
            settings ?? new VolumeSettings { BlobSignatureTtl = TimeSpan.FromHours(1), TrashLifetime = TimeSpan.FromDays(1) });
    }

    /// <summary>A volume that reaches Azurite through <paramref name="proxy"/>, by account name and key.</summary>
    private async Task<IVolume> OpenThroughAsync(FaultProxy proxy, VolumeSettings settings) =>
        await AzBlobHarness.Catalog.CreateVolumeAsync(
            new ConnectorConfiguration(AzBlobHarness.Location(_container), new Dictionary<string, string>
            {
                ["account_name"] = AzuriteServer.AccountName,
                ["account_key"] = AzuriteServer.AccountKey,
                ["endpoint"] = proxy.EndpointOf(AzuriteServer.AccountName).ToString(),
            }, new ConnectorContext { Time = _clock }),
            settings);

    private static (string Hash, byte[] Data) Block(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return (BlockHash.Compute(data), data);
    }

    private static async Task<byte[]> ReadAsync(IVolume volume, string hash)
    {
        using var buffer = new MemoryStream();
        await volume.ReadAsync(hash, buffer);
        return buffer.ToArray();
    }

    [Test]
    public async Task An_existing_keepstore_container_reads_as_it_is()
    {
        // What keepstore leaves: blobs named by the hash at the top of the container, some trashed, and other files.
        var (live, liveData) = Block(3000, 1);
        var (trashed, trashedData) = Block(3001, 2);
        var (untrashed, untrashedData) = Block(3002, 3);
        await _container.GetBlobClient(live).UploadAsync(BinaryData.FromBytes(liveData));
        await _container.GetBlobClient(trashed).UploadAsync(BinaryData.FromBytes(trashedData), new BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { ["expires_at"] = _clock.GetUtcNow().AddDays(3).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) },
        });
        // keepstore's untrash sets expires_at to the empty string rather than removing it.
        await _container.GetBlobClient(untrashed).UploadAsync(BinaryData.FromBytes(untrashedData), new BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { ["expires_at"] = "" },
        });
        await _container.GetBlobClient("README.txt").UploadAsync(BinaryData.FromString("not a block"));
        await _container.GetBlobClient(live.ToUpperInvariant()).UploadAsync(BinaryData.FromString("upper-case names are not blocks"));
        await _container.GetBlobClient($"sub/{live}").UploadAsync(BinaryData.FromString("nested names are not blocks"));
        await using var volume = await OpenAsync();

        var index = await AzBlobHarness.ToListAsync(volume.IndexAsync(""));

        Assert.That(index.Select(b => b.Hash), Is.EquivalentTo(new[] { live, untrashed }));
        Assert.That(index.Single(b => b.Hash == live).Size, Is.EqualTo(3000));
        Assert.That(await ReadAsync(volume, live), Is.EqualTo(liveData));
        Assert.That(await ReadAsync(volume, untrashed), Is.EqualTo(untrashedData));
        Assert.ThrowsAsync<NotFoundException>(() => ReadAsync(volume, trashed));

        await volume.UntrashAsync(trashed);
        Assert.That(await ReadAsync(volume, trashed), Is.EqualTo(trashedData));
    }

    [Test]
    public async Task Trash_marks_the_blob_with_expires_at_in_unix_seconds_as_keepstore_does()
    {
        await using var volume = await OpenAsync();
        var (hash, data) = Block(100, 4);
        await volume.WriteAsync(hash, data);
        _clock.Advance(TimeSpan.FromHours(2));

        await volume.TrashAsync(hash);

        var properties = (await _container.GetBlobClient(hash).GetPropertiesAsync()).Value;
        var expected = _clock.GetUtcNow().AddDays(1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        Assert.That(properties.Metadata, Does.ContainKey("expires_at").WithValue(expected));
        Assert.That(properties.ContentLength, Is.EqualTo(100), "trash keeps the data until the trash is emptied");

        await volume.UntrashAsync(hash);
        Assert.That((await _container.GetBlobClient(hash).GetPropertiesAsync()).Value.Metadata, Does.Not.ContainKey("expires_at"));
    }

    [Test]
    public async Task A_block_stored_in_the_container_has_its_md5_as_name_and_content_md5()
    {
        await using var volume = await OpenAsync();
        var (hash, data) = Block(5000, 5);

        await volume.WriteAsync(hash, data);

        var properties = (await _container.GetBlobClient(hash).GetPropertiesAsync()).Value;
        Assert.That(properties.BlobType, Is.EqualTo(BlobType.Block));
        Assert.That(Convert.ToHexStringLower(properties.ContentHash), Is.EqualTo(hash));
        Assert.That(properties.ContentLength, Is.EqualTo(5000));
    }

    [Test]
    public async Task A_blob_seen_empty_while_its_writer_is_mid_upload_is_waited_for_not_returned_empty()
    {
        await using var volume = await OpenAsync();
        var (hash, data) = Block(200_000, 6);
        // What a racing writer's first step leaves: an empty blob under the block's name, just now.
        await _container.GetBlobClient(hash).UploadAsync(BinaryData.FromBytes([]));

        Assert.That(await AzBlobHarness.ToListAsync(volume.IndexAsync("")), Is.Empty, "a young empty blob is not listed");
        var read = ReadAsync(volume, hash);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.That(read.IsCompleted, Is.False, "the read waits for the writer");
        await _container.GetBlobClient(hash).UploadAsync(BinaryData.FromBytes(data), overwrite: true);

        Assert.That(await read, SameBytes.As(data));
    }

    [Test]
    public async Task A_write_that_meets_another_writer_mid_upload_waits_for_it()
    {
        await using var volume = await OpenAsync();
        var (hash, data) = Block(100_000, 16);
        await _container.GetBlobClient(hash).UploadAsync(BinaryData.FromBytes([]));

        var write = volume.WriteAsync(hash, data);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.That(write.IsCompleted, Is.False, "the write waits for the other writer");
        await _container.GetBlobClient(hash).UploadAsync(BinaryData.FromBytes(data), overwrite: true);
        await write;

        Assert.That(await volume.CompareAsync(hash, data), Is.EqualTo(BlockComparison.Identical));
    }

    [Test]
    public async Task An_empty_blob_long_past_the_race_window_is_missing_not_empty_data()
    {
        await using var volume = await OpenAsync();
        var (hash, _) = Block(1000, 7);
        await _container.GetBlobClient(hash).UploadAsync(BinaryData.FromBytes([]));
        _clock.Advance(TimeSpan.FromMinutes(5));
        var watch = Stopwatch.StartNew();

        var error = Assert.ThrowsAsync<NotFoundException>(() => ReadAsync(volume, hash));

        Assert.That(error!.Message, Does.Contain(hash).And.Contain("empty"));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "no waiting for an upload that ended long ago");
    }

    [Test]
    public async Task The_empty_block_itself_is_stored_and_read()
    {
        await using var volume = await OpenAsync();
        const string empty = "d41d8cd98f00b204e9800998ecf8427e";

        await volume.WriteAsync(empty, ReadOnlyMemory<byte>.Empty);

        Assert.That(await ReadAsync(volume, empty), Is.Empty);
        Assert.That((await AzBlobHarness.ToListAsync(volume.IndexAsync(""))).Select(b => b.ToString()), Has.One.StartsWith($"{empty}+0 "));
    }

    [Test]
    public async Task Writing_over_a_corrupt_copy_replaces_it()
    {
        await using var volume = await OpenAsync();
        var (hash, data) = Block(4000, 8);
        await _container.GetBlobClient(hash).UploadAsync(BinaryData.FromBytes(data.AsMemory(0, 10)));
        Assert.That(await volume.CompareAsync(hash, data), Is.EqualTo(BlockComparison.Corrupt));

        await volume.WriteAsync(hash, data);

        Assert.That(await volume.CompareAsync(hash, data), Is.EqualTo(BlockComparison.Identical));
    }

    [Test]
    public async Task Writing_a_trashed_block_brings_it_back()
    {
        await using var volume = await OpenAsync();
        var (hash, data) = Block(4000, 9);
        await volume.WriteAsync(hash, data);
        _clock.Advance(TimeSpan.FromHours(2));
        await volume.TrashAsync(hash);

        await volume.WriteAsync(hash, data);

        Assert.That(await ReadAsync(volume, hash), SameBytes.As(data));
        Assert.That((await AzBlobHarness.ToListAsync(volume.IndexAsync(""))).Select(b => b.Hash), Is.EqualTo(new[] { hash }));
    }

    [Test]
    public async Task Device_id_names_endpoint_account_and_container_and_no_secret()
    {
        await using var byConnectionString = await OpenAsync();
        await using var byKey = await AzBlobHarness.Catalog.CreateVolumeAsync(
            new ConnectorConfiguration(AzBlobHarness.Location(_container), new Dictionary<string, string>
            {
                ["account_name"] = AzuriteServer.AccountName,
                ["account_key"] = AzuriteServer.AccountKey,
                ["endpoint"] = _server.BlobEndpoint.ToString(),
            }),
            new VolumeSettings { ReadOnly = true });

        var expected = $"azure://127.0.0.1:{_server.Port}/{AzuriteServer.AccountName}/{_container.Name}";
        Assert.That(byConnectionString.DeviceId, Is.EqualTo(expected));
        Assert.That(byKey.DeviceId, Is.EqualTo(expected), "the same backend reached another way has the same id");
        foreach (var text in new[] { byConnectionString.DeviceId, byConnectionString.Description, byKey.Description })
        {
            Assert.That(text, Does.Not.Contain(AzuriteServer.AccountKey).And.Not.Contain("AccountKey"));
        }
    }

    [Test]
    public async Task Replication_defaults_to_3_and_can_be_set()
    {
        await using var byDefault = await OpenAsync();
        await using var two = await OpenAsync(extra: new() { ["replication"] = "2" });

        Assert.That(byDefault.Replication, Is.EqualTo(3));
        Assert.That(two.Replication, Is.EqualTo(2));
        var error = Assert.ThrowsAsync<ConnectorConfigurationException>(() => OpenAsync(extra: new() { ["replication"] = "0" }));
        Assert.That(error!.Message, Does.Contain("replication"));
    }

    [Test]
    public async Task A_missing_container_is_a_clear_configuration_error()
    {
        var error = Assert.ThrowsAsync<ConnectorConfigurationException>(async () => await AzBlobHarness.Catalog.CreateVolumeAsync(
            AzBlobHarness.Configuration(_server, "azblob://no-such-container"), new VolumeSettings()));

        Assert.That(error!.Message, Does.Contain("no-such-container").And.Contain("does not exist").And.Not.Contain("\n"));
    }

    [Test]
    public async Task Index_survives_a_busy_service_answering_503_beyond_the_sdk_retries()
    {
        var blocks = Enumerable.Range(0, 5).Select(i => Block(100 + i, 20 + i)).ToList();
        foreach (var (hash, data) in blocks)
        {
            await _container.GetBlobClient(hash).UploadAsync(BinaryData.FromBytes(data));
        }

        await using var proxy = FaultProxy.Start(_server.Port);
        await using var volume = await OpenThroughAsync(proxy, new VolumeSettings());
        // The SDK tries 5 times; the sixth 503 is only survived by the volume's own retry of the page.
        var busy = 6;
        proxy.Decide = request => request.Target.Contains("comp=list", StringComparison.Ordinal) && Interlocked.Decrement(ref busy) >= 0
            ? new Fault.Status(503)
            : null;

        var index = await AzBlobHarness.ToListAsync(volume.IndexAsync(""));

        Assert.That(proxy.FaultsInjected, Is.EqualTo(6));
        Assert.That(index.Select(b => b.Hash), Is.EquivalentTo(blocks.Select(b => b.Hash)));
    }

    [Test]
    public async Task A_read_cut_off_mid_block_resumes_and_returns_the_whole_block()
    {
        var (hash, data) = Block(3 * 1024 * 1024, 30);
        await _container.GetBlobClient(hash).UploadAsync(BinaryData.FromBytes(data));
        await using var proxy = FaultProxy.Start(_server.Port);
        await using var volume = await OpenThroughAsync(proxy, new VolumeSettings { ReadOnly = true });
        var cuts = 2;
        proxy.Decide = request => request.Method == "GET" && request.Target.Contains(hash, StringComparison.Ordinal) && Interlocked.Decrement(ref cuts) >= 0
            ? new Fault.CutBody(100_000)
            : null;

        var read = await ReadAsync(volume, hash);

        Assert.That(proxy.FaultsInjected, Is.EqualTo(2));
        Assert.That(BlockHash.Compute(read), Is.EqualTo(hash), "no partial block");
    }

    [Test]
    public async Task Two_volumes_in_different_processes_share_one_container_without_losing_or_tearing_a_block()
    {
        var helper = Path.Combine(RepositoryPaths.TestProjectOutput("Coffer.Plugins.AzBlob.Stress"), "Coffer.Plugins.AzBlob.Stress.dll");
        Assert.That(File.Exists(helper), Is.True, helper);
        var location = AzBlobHarness.Location(_container);
        var processes = Enumerable.Range(1, 2).Select(seed =>
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { helper, location, "2", seed.ToString(CultureInfo.InvariantCulture) })
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["AZBLOB_CONNECTION_STRING"] = _server.ConnectionString;
            info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            return Process.Start(info)!;
        }).ToList();
        var outputs = processes.Select(p => (Out: p.StandardOutput.ReadToEndAsync(), Err: p.StandardError.ReadToEndAsync())).ToList();

        // Meanwhile this process reads whatever the index shows: each block whole, or not at all.
        await using var observer = await OpenAsync(new VolumeSettings { ReadOnly = true });
        var observed = 0;
        while (processes.Any(p => !p.HasExited))
        {
            foreach (var info in await AzBlobHarness.ToListAsync(observer.IndexAsync("")))
            {
                using var buffer = new MemoryStream();
                try
                {
                    await observer.ReadAsync(info.Hash, buffer);
                }
                catch (NotFoundException)
                {
                    continue;
                }

                Assert.That(BlockHash.Compute(buffer.ToArray()), Is.EqualTo(info.Hash), "a block read while two processes write it is whole");
                observed++;
            }
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        foreach (var (process, (stdout, stderr)) in processes.Zip(outputs))
        {
            await process.WaitForExitAsync(timeout.Token);
            var report = $"exit {process.ExitCode}\n{await stdout}\n{await stderr}";
            Assert.That(process.ExitCode, Is.EqualTo(0), report);
            Assert.That(await stdout, Does.StartWith("ok "), report);
            process.Dispose();
        }

        var index = await AzBlobHarness.ToListAsync(observer.IndexAsync(""));
        Assert.That(index, Has.Count.EqualTo(18), "every block of the shared set is there once");
        foreach (var info in index)
        {
            using var buffer = new MemoryStream();
            await observer.ReadAsync(info.Hash, buffer);
            Assert.That(BlockHash.Compute(buffer.ToArray()), Is.EqualTo(info.Hash));
            Assert.That(buffer.Length, Is.EqualTo(info.Size));
        }

        Assert.That(observed, Is.GreaterThan(0), "the observer read blocks while the writers ran");
    }
}
