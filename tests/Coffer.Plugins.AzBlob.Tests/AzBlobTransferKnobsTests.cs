using System.Diagnostics;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>The cost and speed options (access_tier, max_concurrency, upload_limit, download_limit) and the credentials from the environment, against Azurite.</summary>
[TestFixture]
public sealed class AzBlobTransferKnobsTests
{
    private AzuriteServer _server = null!;
    private BlobContainerClient _container = null!;

    [SetUp]
    public async Task SetUpAsync()
    {
        _server = await AzBlobHarness.ServerAsync();
        _container = await _server.CreateContainerAsync("knobs");
    }

    [TearDown]
    public async Task TearDownAsync() => await _container.DeleteIfExistsAsync();

    private Dictionary<string, string> Options(params (string Key, string Value)[] extra)
    {
        var options = new Dictionary<string, string> { ["connection_string"] = _server.ConnectionString };
        foreach (var (key, value) in extra)
        {
            options[key] = value;
        }

        return options;
    }

    private Task<IStorageConnector> StorageAsync(string prefix, params (string Key, string Value)[] extra) =>
        AzBlobHarness.Catalog.CreateStorageAsync(new ConnectorConfiguration(AzBlobHarness.Location(_container, prefix), Options(extra))).AsTask();

    private async Task<AccessTier?> TierAsync(string blob) => (await _container.GetBlobClient(blob).GetPropertiesAsync()).Value.AccessTier is { } tier ? new AccessTier(tier) : null;

    [Test]
    public async Task Access_tier_goes_on_a_stores_packfiles_and_every_destination_blob_and_bad_tiers_are_one_line()
    {
        await using (var store = await StorageAsync("store", ("access_tier", "cool")))
        {
            await store.CreateAsync("{}"u8.ToArray());
            await store.PutAsync(StorageObjectClass.Packfile, new string('a', 64), new MemoryStream(new byte[1000]));
            await store.PutAsync(StorageObjectClass.Index, new string('b', 64), new MemoryStream(new byte[100]));
        }

        Assert.That(await TierAsync("store/packfile/" + new string('a', 64)), Is.EqualTo(AccessTier.Cool));
        Assert.That(await TierAsync("store/index/" + new string('b', 64)), Is.EqualTo(AccessTier.Hot), "small objects stay in the account's default tier");

        await using (var cold = await StorageAsync("cold", ("access_tier", "cold")))
        {
            await cold.CreateAsync("{}"u8.ToArray());
            await cold.PutAsync(StorageObjectClass.Packfile, new string('a', 64), new MemoryStream(new byte[1000]));
        }

        Assert.That(await TierAsync("cold/packfile/" + new string('a', 64)), Is.EqualTo(AccessTier.Cold));

        // A destination takes archive too, and the option wins over the tier the entry recorded.
        var entry = new TreeEntry("docs/a.txt", EntryKind.File) { Size = 3, Metadata = new Dictionary<string, string> { ["azure.tier"] = "Hot" } };
        await using (var destination = await AzBlobHarness.Catalog.CreateDestinationAsync(
            new ConnectorConfiguration(AzBlobHarness.Location(_container, "restored"), Options(("access_tier", "archive")))))
        {
            await destination.WriteFileAsync(entry, new MemoryStream("abc"u8.ToArray()));
        }

        Assert.That(await TierAsync("restored/docs/a.txt"), Is.EqualTo(AccessTier.Archive));

        var archived = Assert.ThrowsAsync<ConnectorConfigurationException>(() => StorageAsync("other", ("access_tier", "archive")));
        Assert.That(archived!.Message, Does.Contain("access_tier=archive").And.Contain("store").And.Not.Contain("\n"));
        var unknown = Assert.ThrowsAsync<ConnectorConfigurationException>(() => StorageAsync("other", ("access_tier", "glacier")));
        Assert.That(unknown!.Message, Does.Contain("'access_tier'").And.Contain("'glacier'").And.Not.Contain("\n"));
        var rate = Assert.ThrowsAsync<ConnectorConfigurationException>(() => StorageAsync("other", ("upload_limit", "fast")));
        Assert.That(rate!.Message, Does.Contain("'upload_limit'").And.Not.Contain("\n"));
        var concurrency = Assert.ThrowsAsync<ConnectorConfigurationException>(() => StorageAsync("other", ("max_concurrency", "0")));
        Assert.That(concurrency!.Message, Does.Contain("'max_concurrency'").And.Not.Contain("\n"));
    }

    [Test]
    public async Task Upload_and_download_limits_hold_the_rate_at_most_15_percent_over_50_MiB()
    {
        const int size = 50 << 20;
        const double limit = 20 << 20;
        var data = new byte[size];
        Random.Shared.NextBytes(data);
        var name = new string('c', 64);
        await using var store = await StorageAsync("rate", ("upload_limit", "20MiB"), ("download_limit", "20MiB"), ("max_concurrency", "8"));
        await store.CreateAsync("{}"u8.ToArray());

        var upload = Stopwatch.StartNew();
        await store.PutAsync(StorageObjectClass.Packfile, name, new MemoryStream(data));
        var uploadRate = size / upload.Elapsed.TotalSeconds;

        var download = Stopwatch.StartNew();
        long read;
        await using (var stream = await store.GetAsync(StorageObjectClass.Packfile, name))
        {
            read = await CountAsync(stream);
        }

        var downloadRate = size / download.Elapsed.TotalSeconds;

        Assert.That(read, Is.EqualTo(size));
        // Over the limit is the failure the knob exists to prevent; under it only the machine's load may push a run, so
        // the lower bound only catches a limiter throttling far below its rate (the suite runs two assemblies at once).
        Assert.That(uploadRate, Is.InRange(limit * 0.5, limit * 1.15), $"upload bytes per second (download {downloadRate:F0})");
        Assert.That(downloadRate, Is.InRange(limit * 0.5, limit * 1.15), $"download bytes per second (upload {uploadRate:F0})");
    }

    [Test]
    public async Task The_connection_string_comes_from_the_environment_and_a_wrong_environment_secret_fails_in_one_line()
    {
        await _container.GetBlobClient("hello.txt").UploadAsync(BinaryData.FromString("hello"));
        const string secret = "not-the-secret-0123456789";
        string[] variables = ["AZURE_STORAGE_CONNECTION_STRING", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST"];
        var saved = variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING", _server.ConnectionString);
            await using (var source = await AzBlobHarness.Catalog.CreateSourceAsync(new ConnectorConfiguration(AzBlobHarness.Location(_container), new Dictionary<string, string>())))
            {
                var paths = (await AzBlobHarness.ToListAsync(source.ScanAsync())).Select(e => e.Path);
                Assert.That(paths, Does.Contain("hello.txt"));
                Assert.That(source.Description, Does.Contain("AZURE_STORAGE_CONNECTION_STRING").And.Not.Contain(AzuriteServer.AccountKey));
            }

            // A service principal whose secret the (unreachable) authority cannot accept.
            Environment.SetEnvironmentVariable("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000001");
            Environment.SetEnvironmentVariable("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000002");
            Environment.SetEnvironmentVariable("AZURE_CLIENT_SECRET", secret);
            Environment.SetEnvironmentVariable("AZURE_AUTHORITY_HOST", "https://127.0.0.1:1/");
            var error = Assert.ThrowsAsync<ConnectorAuthenticationException>(() => AzBlobHarness.Catalog.CreateSourceAsync(new ConnectorConfiguration(
                AzBlobHarness.Location(_container),
                new Dictionary<string, string> { ["credential"] = "environment", ["account_name"] = AzuriteServer.AccountName })).AsTask());
            Assert.That(error!.Message, Does.Contain("credential=environment").And.Not.Contain(secret).And.Not.Contain("\n"));
        }
        finally
        {
            foreach (var (variable, value) in saved)
            {
                Environment.SetEnvironmentVariable(variable, value);
            }
        }
    }

    private static async Task<long> CountAsync(Stream stream)
    {
        var buffer = new byte[1 << 20];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            total += read;
        }

        return total;
    }
}
