using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Azure.Storage.Blobs;
using Coffer.TestSupport;

namespace Coffer.Keep.Tests;

/// <summary><c>coffer keepstore -config</c>: today's keepstore, configured by an Arvados cluster config file.</summary>
[Parallelizable(ParallelScope.None)]
public class KeepstoreConfigTests
{
    private const string DataManagerToken = KeepTestSecrets.DataManagerToken;
    private const string UserToken = KeepTestSecrets.UserToken;
    private const string PermissionKey = KeepTestSecrets.PermissionKey;
    private const string ManagementToken = "managementtoken0123456789abcdefghijklmnopqrstuvw";
    private const string Local = "zzzzz-nyw5e-000000000000000";
    private const string Old = "zzzzz-nyw5e-000000000000001";
    private const string Azure = "zzzzz-nyw5e-000000000000002";
    private const string OnlyKeep1 = "zzzzz-nyw5e-000000000000003";

    private TemporaryDirectory _root = null!;
    private CofferProcess _coffer = null!;
    private AzuriteServer _azurite = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _root = new TemporaryDirectory("keepcfg");
        _coffer = KeepstoreProcess.CofferWithPlugins(_root);
        _azurite = await AzuriteServer.GetSharedAsync();
    }

    [OneTimeTearDown]
    public void Stop() => _root.Dispose();

    private sealed record Cluster(string ConfigFile, string[] Listen, string Disk0, string Disk1, string Disk3, BlobContainerClient Container);

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private string NewDisk(string name)
    {
        var path = _root.Combine($"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// A config in the structure of Arvados' documented examples: two keepstore servers; a local directory with
    /// two storage classes, an older directory read-only, an Azure container (Azurite, through StorageBaseURL) of
    /// class archive, all reached by both servers; and one directory only the second server reaches.
    /// </summary>
    private async Task<Cluster> WriteClusterAsync(string extraCollections = "")
    {
        var container = await _azurite.CreateContainerAsync("cfg");
        var (disk0, disk1, disk3) = (NewDisk("local"), NewDisk("old"), NewDisk("keep1only"));
        string[] listen = [$"127.0.0.1:{FreePort()}", $"127.0.0.1:{FreePort()}"];
        var yaml = $"""
            Clusters:
              zzzzz:
                SystemRootToken: {DataManagerToken}
                ManagementToken: {ManagementToken}
                Services:
                  Keepstore:
                    InternalURLs:
                      "http://{listen[0]}": {"{}"}
                      "http://{listen[1]}": {"{}"}
                Collections:
                  BlobSigningKey: {PermissionKey}
                  BlobSigningTTL: 336h
                  BlobTrashLifetime: 0s
            {extraCollections}
                Containers:
                  MaxRetryAttempts: 3
                Volumes:
                  {Local}:
                    Driver: Directory
                    DriverParameters:
                      Root: {disk0}
                    StorageClasses:
                      default: true
                      fast: true
                  {Old}:
                    Driver: Directory
                    ReadOnly: true
                    DriverParameters:
                      Root: {disk1}
                  {Azure}:
                    Driver: Azure
                    Replication: 3
                    StorageClasses:
                      archive: true
                    DriverParameters:
                      StorageAccountName: {AzuriteServer.AccountName}
                      StorageAccountKey: {AzuriteServer.AccountKey}
                      StorageBaseURL: http://127.0.0.1:{_azurite.Port}
                      ContainerName: {container.Name}
                      RequestTimeout: 30s
                      ListBlobsRetryDelay: 10s
                      ListBlobsMaxAttempts: 10
                      WriteRaceInterval: 15s
                      WriteRacePollTime: 1s
                  {OnlyKeep1}:
                    AccessViaHosts:
                      "http://{listen[1]}": {"{}"}
                    Driver: Directory
                    DriverParameters:
                      Root: {disk3}
            """;
        var file = KeepTestSecrets.WritePrivateFile(_root.Combine($"config-{Guid.NewGuid():N}.yml"), yaml);
        return new Cluster(file, listen, disk0, disk1, disk3, container);
    }

    private static void AssertNoSecrets(string log)
    {
        foreach (var secret in new[] { DataManagerToken, UserToken, PermissionKey, ManagementToken, AzuriteServer.AccountKey })
        {
            Assert.That(log, Does.Not.Contain(secret));
        }
    }

    private static async Task<JsonElement> MountsAsync(KeepstoreProcess keep)
    {
        using var reply = await keep.SendAsync(HttpMethod.Get, "mounts", DataManagerToken);
        Assert.That((int)reply.StatusCode, Is.EqualTo(200));
        return JsonDocument.Parse(await reply.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static int BlocksOn(string disk) =>
        Directory.EnumerateFiles(disk, "*", SearchOption.AllDirectories).Count(f => Path.GetFileName(f).Length == 32);

    [Test]
    public async Task A_cluster_config_serves_its_volumes_with_signatures_storage_classes_and_the_system_root_token()
    {
        var cluster = await WriteClusterAsync();
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", cluster.ConfigFile, "-listen", cluster.Listen[0]);

        // Writes go to the writable volumes this server reaches; each answer confirms the classes of the one written.
        var confirmed = new List<string>();
        var locators = new List<(string Locator, byte[] Block)>();

        // Two blocks rendezvous puts first on each writable volume (chosen here, so the test never depends on luck).
        var blocks = Enumerable.Range(0, 64).Select(i => KeepstoreProcess.RandomBlock(5000 + i))
            .GroupBy(b => RendezvousOrder(KeepstoreProcess.Md5(b), Local, Azure)[0])
            .SelectMany(g => g.Take(2))
            .ToList();
        Assert.That(blocks, Has.Count.EqualTo(4));
        foreach (var block in blocks)
        {
            using var put = await keep.PutAsync(KeepstoreProcess.Md5(block), block, UserToken);
            Assert.That((int)put.StatusCode, Is.EqualTo(200), keep.Log);
            var classes = put.Headers.GetValues("X-Keep-Storage-Classes-Confirmed").Single();
            var replicas = put.Headers.GetValues("X-Keep-Replicas-Stored").Single();
            Assert.That((classes, replicas), Is.EqualTo(("default=1, fast=1", "1")).Or.EqualTo(("archive=3", "3")));
            confirmed.Add(classes);
            locators.Add(((await put.Content.ReadAsStringAsync()).TrimEnd('\n'), block));
        }

        Assert.That(confirmed, Does.Contain("archive=3").And.Contain("default=1, fast=1"), "both writable volumes took blocks");
        Assert.That(BlocksOn(cluster.Disk0) + (await cluster.Container.GetBlobsAsync().ToListAsync()).Count, Is.EqualTo(4));
        Assert.That(BlocksOn(cluster.Disk1), Is.Zero, "the ReadOnly volume is never written");
        Assert.That(BlocksOn(cluster.Disk3), Is.Zero, "a volume of another server's AccessViaHosts is not served here");

        // BlobSigning is on: signed locators read, unsigned ones are refused.
        foreach (var (locator, block) in locators)
        {
            Assert.That(locator, Does.Match("\\+A[0-9a-f]{40}@[0-9a-f]{8}$"));
            Assert.That(await keep.GetBlockAsync(locator, UserToken), Is.EqualTo((200, block)));
            Assert.That((await keep.GetBlockAsync(locator.Split("+A")[0], UserToken)).Status, Is.EqualTo(403));
        }

        // The mounts are the config's volumes, by UUID, with their classes and replication.
        var mounts = await MountsAsync(keep);
        Assert.That(mounts.EnumerateArray().Select(m => m.GetProperty("UUID").GetString()), Is.EqualTo(new[] { Local, Old, Azure }));
        Assert.That(mounts[1].GetProperty("ReadOnly").GetBoolean(), Is.True);
        Assert.That(mounts[2].GetProperty("Replication").GetInt32(), Is.EqualTo(3));
        Assert.That(mounts[0].GetProperty("StorageClasses").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "default", "fast" }));
        Assert.That(mounts[2].GetProperty("StorageClasses").EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "archive" }));

        // SystemRootToken is the data manager's token.
        using var index = await keep.SendAsync(HttpMethod.Get, "index", DataManagerToken);
        Assert.That((int)index.StatusCode, Is.EqualTo(200));
        Assert.That((await index.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(4));
        using var refused = await keep.SendAsync(HttpMethod.Get, "index", UserToken);
        Assert.That((int)refused.StatusCode, Is.EqualTo(401));

        // The Azure volume cannot count its blocks cheaply: status reports the index pass just made.
        var onAzure = new List<long>();
        await foreach (var blob in cluster.Container.GetBlobsAsync())
        {
            onAzure.Add(blob.Properties.ContentLength ?? 0);
        }

        using var statusReply = await keep.SendAsync(HttpMethod.Get, "status.json");
        using var status = JsonDocument.Parse(await statusReply.Content.ReadAsStringAsync());
        var azureStatus = status.RootElement.GetProperty("Volumes")[2].GetProperty("Status");
        Assert.That(azureStatus.GetProperty("BytesUsed").GetInt64(), Is.EqualTo(onAzure.Sum()));
        Assert.That(azureStatus.GetProperty("BlocksUsed").GetInt64(), Is.EqualTo(onAzure.Count));
        Assert.That(azureStatus.GetProperty("UsageFrom").GetString(), Does.StartWith("index "));
        Assert.That(status.RootElement.GetProperty("Volumes")[0].GetProperty("Status").GetProperty("UsageFrom").GetString(), Is.EqualTo("volume"));

        // BlobTrash (Arvados' default true) allows DELETE by the system root token (a block this young stays).
        var (doomed, _) = locators[0];
        using var delete = await keep.SendAsync(HttpMethod.Delete, doomed.Split('+')[0], DataManagerToken);
        Assert.That((int)delete.StatusCode, Is.Not.EqualTo(405).And.Not.EqualTo(403), keep.Log);
        using var userDelete = await keep.SendAsync(HttpMethod.Delete, doomed.Split('+')[0], UserToken);
        Assert.That((int)userDelete.StatusCode, Is.EqualTo(403));

        Assert.That(keep.Log, Does.Not.Contain("unknown config entry"), "Containers is another service's section");
        // Today's router: GET of a bare hash is refused (the empty block excepted); pull lists need sizes and get an empty answer.
        var (_, first) = locators[1];
        using (var bare = await keep.SendAsync(HttpMethod.Get, KeepstoreProcess.Md5(first), UserToken))
        {
            Assert.That((int)bare.StatusCode, Is.EqualTo(405));
        }

        Assert.That((await keep.GetBlockAsync("d41d8cd98f00b204e9800998ecf8427e", UserToken)).Status, Is.Not.EqualTo(405));
        var hash = KeepstoreProcess.Md5(first);
        using (var oldPulls = await keep.SendAsync(HttpMethod.Put, "pull", DataManagerToken, new StringContent($"[{{\"locator\":\"{hash}\",\"servers\":[\"http://127.0.0.1:1\"]}}]")))
        {
            Assert.That((int)oldPulls.StatusCode, Is.EqualTo(400));
            Assert.That(await oldPulls.Content.ReadAsStringAsync(), Does.StartWith("rejecting pull list containing a locator without a size hint"));
        }

        using (var trash = await keep.SendAsync(HttpMethod.Put, "trash", DataManagerToken, new StringContent("[]")))
        {
            Assert.That((int)trash.StatusCode, Is.EqualTo(200));
            Assert.That(await trash.Content.ReadAsStringAsync(), Is.Empty);
        }

        AssertNoSecrets(keep.Log);
    }

    [Test]
    public async Task Two_servers_with_the_same_config_serve_the_volumes_their_access_via_hosts_give_them()
    {
        var cluster = await WriteClusterAsync();
        await using var keep0 = await KeepstoreProcess.StartAsync(_coffer, "-config", cluster.ConfigFile, "-listen", cluster.Listen[0]);
        await using var keep1 = await KeepstoreProcess.StartAsync(_coffer, "-config", cluster.ConfigFile, "-listen", cluster.Listen[1]);

        Assert.That((await MountsAsync(keep0)).EnumerateArray().Select(m => m.GetProperty("UUID").GetString()), Is.EqualTo(new[] { Local, Old, Azure }));
        Assert.That((await MountsAsync(keep1)).EnumerateArray().Select(m => m.GetProperty("UUID").GetString()), Is.EqualTo(new[] { Local, Old, Azure, OnlyKeep1 }));

        // A block written through one server is read through the other from the volumes they share.
        var block = KeepstoreProcess.RandomBlock(7000);
        var locator = await keep0.PutBlockAsync(block, UserToken);
        Assert.That(await keep1.GetBlockAsync(locator, UserToken), Is.EqualTo((200, block)));
        AssertNoSecrets(keep0.Log + keep1.Log);
    }

    /// <summary>keepstore's rendezvous order, computed here independently: ascending hex MD5 of hash + the UUID's last 15 characters.</summary>
    private static List<string> RendezvousOrder(string hash, params string[] uuids) =>
        uuids.OrderBy(u => KeepstoreProcess.Md5(System.Text.Encoding.UTF8.GetBytes(hash + u[12..])), StringComparer.Ordinal).ToList();

    private async Task<string> WhereIsAsync(Cluster cluster, string hash)
    {
        var onAzure = await cluster.Container.GetBlobClient(hash).ExistsAsync();
        var places = new List<string>();
        if (File.Exists(Path.Combine(cluster.Disk0, hash[..3], hash)))
        {
            places.Add(Local);
        }

        if (onAzure.Value)
        {
            places.Add(Azure);
        }

        if (File.Exists(Path.Combine(cluster.Disk3, hash[..3], hash)))
        {
            places.Add(OnlyKeep1);
        }

        return string.Join(",", places);
    }

    [Test]
    public async Task Both_servers_put_each_block_on_its_first_writable_volume_in_rendezvous_order()
    {
        var cluster = await WriteClusterAsync();
        await using var keep0 = await KeepstoreProcess.StartAsync(_coffer, "-config", cluster.ConfigFile, "-listen", cluster.Listen[0]);
        await using var keep1 = await KeepstoreProcess.StartAsync(_coffer, "-config", cluster.ConfigFile, "-listen", cluster.Listen[1]);
        for (var i = 0; i < 8; i++)
        {
            var (keep, writable) = i % 2 == 0 ? (keep0, new[] { Local, Azure }) : (keep1, new[] { Local, Azure, OnlyKeep1 });
            var block = KeepstoreProcess.RandomBlock(3000 + i);
            var hash = KeepstoreProcess.Md5(block);
            var locator = await keep.PutBlockAsync(block, UserToken);

            var expected = RendezvousOrder(hash, writable)[0];
            Assert.That(await WhereIsAsync(cluster, hash), Is.EqualTo(expected), $"block {i}");

            // keep0 reaches every volume but OnlyKeep1, so it serves every block it shares.
            if (expected != OnlyKeep1)
            {
                Assert.That(await keep0.GetBlockAsync(locator, UserToken), Is.EqualTo((200, block)));
            }

            Assert.That(await keep1.GetBlockAsync(locator, UserToken), Is.EqualTo((200, block)));
        }

    }

    [Test]
    public async Task Todays_endpoints_storage_classes_touch_admin_mounts_health_and_cors()
    {
        var cluster = await WriteClusterAsync();
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", cluster.ConfigFile, "-listen", cluster.Listen[0]);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        async Task<HttpResponseMessage> PutWithClassesAsync(byte[] block, string classes, string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(keep.BaseAddress, path)) { Content = new ByteArrayContent(block) };
            request.Headers.Authorization = new("OAuth2", UserToken);
            request.Headers.Add("X-Keep-Storage-Classes", classes);
            return await http.SendAsync(request);
        }

        // X-Keep-Storage-Classes picks the volumes: archive is the Azure container, fast the local directory.
        var archived = KeepstoreProcess.RandomBlock(4000);
        using (var put = await PutWithClassesAsync(archived, "archive", KeepstoreProcess.Md5(archived)))
        {
            Assert.That((int)put.StatusCode, Is.EqualTo(200), keep.Log);
            Assert.That(put.Headers.GetValues("X-Keep-Storage-Classes-Confirmed").Single(), Is.EqualTo("archive=3"));
            Assert.That(put.Headers.GetValues("X-Keep-Replicas-Stored").Single(), Is.EqualTo("3"));
        }

        Assert.That(await WhereIsAsync(cluster, KeepstoreProcess.Md5(archived)), Is.EqualTo(Azure));
        var both = KeepstoreProcess.RandomBlock(4001);
        using (var put = await PutWithClassesAsync(both, "fast, archive", $"{KeepstoreProcess.Md5(both)}+{both.Length}"))
        {
            Assert.That((int)put.StatusCode, Is.EqualTo(200), "hints after the hash of a PUT are accepted");
            Assert.That(put.Headers.GetValues("X-Keep-Storage-Classes-Confirmed").Single().Split(", "), Is.EquivalentTo(new[] { "default=1", "fast=1", "archive=3" }));
            Assert.That(put.Headers.GetValues("X-Keep-Replicas-Stored").Single(), Is.EqualTo("4"));
        }

        Assert.That(await WhereIsAsync(cluster, KeepstoreProcess.Md5(both)), Is.EqualTo($"{Local},{Azure}"));

        // TOUCH, for the system root token only: the first writable copy in config order (the local directory).
        var hash = KeepstoreProcess.Md5(both);
        var file = Path.Combine(cluster.Disk0, hash[..3], hash);
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddDays(-3));
        var touch = new HttpMethod("TOUCH");
        using (var refused = await keep.SendAsync(touch, hash, UserToken))
        {
            Assert.That((int)refused.StatusCode, Is.EqualTo(403));
        }

        using (var touched = await keep.SendAsync(touch, hash, DataManagerToken))
        {
            Assert.That((int)touched.StatusCode, Is.EqualTo(200), keep.Log);
        }

        Assert.That(File.GetLastWriteTimeUtc(file), Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromMinutes(1)));
        using (var missing = await keep.SendAsync(touch, "0123456789abcdef0123456789abcdef", DataManagerToken))
        {
            Assert.That((int)missing.StatusCode, Is.EqualTo(404));
        }

        // /mounts is for the system root token.
        using (var anonymous = await keep.SendAsync(HttpMethod.Get, "mounts"))
        {
            Assert.That((int)anonymous.StatusCode, Is.EqualTo(401));
        }

        using (var user = await keep.SendAsync(HttpMethod.Get, "mounts", UserToken))
        {
            Assert.That((int)user.StatusCode, Is.EqualTo(403));
        }

        // /_health/ping with the ManagementToken, as Arvados' health handler.
        using (var noAuth = await keep.SendAsync(HttpMethod.Get, "_health/ping"))
        {
            Assert.That((int)noAuth.StatusCode, Is.EqualTo(401));
        }

        using (var wrong = await keep.SendAsync(HttpMethod.Get, "_health/ping", UserToken, scheme: "Bearer"))
        {
            Assert.That((int)wrong.StatusCode, Is.EqualTo(403));
        }

        using (var ping = await keep.SendAsync(HttpMethod.Get, "_health/ping", ManagementToken, scheme: "Bearer"))
        {
            Assert.That((int)ping.StatusCode, Is.EqualTo(200));
            Assert.That(await ping.Content.ReadAsStringAsync(), Is.EqualTo("{\"health\":\"OK\"}\n"));
        }

        // CORS: OPTIONS on any path, and the headers on every answer.
        using (var options = await keep.SendAsync(HttpMethod.Options, "anything/at/all"))
        {
            Assert.That((int)options.StatusCode, Is.EqualTo(200));
            Assert.That(options.Headers.GetValues("Access-Control-Allow-Methods").Single(), Is.EqualTo("GET, HEAD, PUT, OPTIONS"));
            Assert.That(options.Headers.GetValues("Access-Control-Expose-Headers").Single(), Does.Contain("X-Keep-Storage-Classes-Confirmed"));
        }

        using (var get = await keep.SendAsync(HttpMethod.Get, "mounts", DataManagerToken))
        {
            Assert.That(get.Headers.GetValues("Access-Control-Allow-Origin").Single(), Is.EqualTo("*"));
        }

        AssertNoSecrets(keep.Log);
    }

    /// <summary>Scrapes /metrics and parses the Prometheus text format into "name{labels}" → value.</summary>
    internal static async Task<Dictionary<string, double>> ScrapeAsync(KeepstoreProcess keep, string? token)
    {
        using var reply = await keep.SendAsync(HttpMethod.Get, "metrics", token);
        Assert.That((int)reply.StatusCode, Is.EqualTo(200), keep.Log);
        Assert.That(reply.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
        var samples = new Dictionary<string, double>();
        foreach (var line in (await reply.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            samples[line[..space]] = double.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }

        return samples;
    }

    private static double Sample(Dictionary<string, double> samples, string name) => samples.GetValueOrDefault(name);

    [Test]
    public async Task Metrics_are_scraped_with_the_management_token_and_move_with_requests()
    {
        var cluster = await WriteClusterAsync();
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", cluster.ConfigFile, "-listen", cluster.Listen[0]);
        using (var anonymous = await keep.SendAsync(HttpMethod.Get, "metrics"))
        {
            Assert.That((int)anonymous.StatusCode, Is.EqualTo(401));
        }

        using (var user = await keep.SendAsync(HttpMethod.Get, "metrics", UserToken))
        {
            Assert.That((int)user.StatusCode, Is.EqualTo(403));
        }

        var before = await ScrapeAsync(keep, ManagementToken);
        Assert.That(Sample(before, "arvados_keepstore_bufferpool_max_buffers"), Is.EqualTo(128));
        var block = KeepstoreProcess.RandomBlock(6000);
        using (var put = await keep.PutAsync(KeepstoreProcess.Md5(block), block, UserToken))
        {
            Assert.That((int)put.StatusCode, Is.EqualTo(200));
        }

        var device = (await MountsAsync(keep)).EnumerateArray()
            .Single(m => m.GetProperty("UUID").GetString() == RendezvousOrder(KeepstoreProcess.Md5(block), Local, Azure)[0])
            .GetProperty("DeviceID").GetString();
        var after = await ScrapeAsync(keep, ManagementToken);

        Assert.That(Sample(after, "request_duration_seconds_count{code=\"200\",method=\"PUT\"}"), Is.EqualTo(Sample(before, "request_duration_seconds_count{code=\"200\",method=\"PUT\"}") + 1));
        Assert.That(Sample(after, "request_duration_seconds_count{code=\"401\",method=\"GET\"}"), Is.EqualTo(1), "the refused scrape");
        Assert.That(Sample(after, "request_duration_seconds_sum{code=\"200\",method=\"PUT\"}"), Is.GreaterThan(0));
        Assert.That(Sample(after, $"arvados_keepstore_volume_operations{{device_id=\"{device}\",operation=\"write\"}}"), Is.EqualTo(1));
        Assert.That(Sample(after, $"arvados_keepstore_volume_io_bytes{{device_id=\"{device}\",direction=\"in\"}}"), Is.EqualTo(6000));
        Assert.That(Sample(after, "arvados_keepstore_bufferpool_allocated_bytes"), Is.GreaterThanOrEqualTo(6000));
        AssertNoSecrets(keep.Log);
    }

    [Test]
    public async Task A_directory_volume_below_its_min_free_is_full_and_the_next_volume_takes_the_block()
    {
        var cluster = await WriteClusterAsync();
        var text = await File.ReadAllTextAsync(cluster.ConfigFile);
        var yaml = text.Replace($"          Root: {cluster.Disk0}", $"          Root: {cluster.Disk0}\n          MinFree: 1000000TiB");
        var file = KeepTestSecrets.WritePrivateFile(_root.Combine("minfree.yml"), yaml);
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", file, "-listen", cluster.Listen[0]);

        // Whichever way rendezvous orders them, the local directory is full: every block goes to Azure.
        for (var i = 0; i < 4; i++)
        {
            var block = KeepstoreProcess.RandomBlock(2000 + i);
            using var put = await keep.PutAsync(KeepstoreProcess.Md5(block), block, UserToken);
            Assert.That((int)put.StatusCode, Is.EqualTo(200), keep.Log);
            Assert.That(put.Headers.GetValues("X-Keep-Storage-Classes-Confirmed").Single(), Is.EqualTo("archive=3"));
        }

        Assert.That(BlocksOn(cluster.Disk0), Is.Zero);

        // Asked for the class only the full volume has: nothing can be stored.
        var only = KeepstoreProcess.RandomBlock(2100);
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(keep.BaseAddress, KeepstoreProcess.Md5(only))) { Content = new ByteArrayContent(only) };
        request.Headers.Authorization = new("OAuth2", UserToken);
        request.Headers.Add("X-Keep-Storage-Classes", "fast");
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var full = await http.SendAsync(request);
        Assert.That((int)full.StatusCode, Is.EqualTo(507), keep.Log);
    }

    [Test]
    public async Task A_storage_class_of_higher_priority_puts_its_volumes_first()
    {
        var cluster = await WriteClusterAsync();
        var text = await File.ReadAllTextAsync(cluster.ConfigFile);
        var file = KeepTestSecrets.WritePrivateFile(_root.Combine($"priority-{Guid.NewGuid():N}.yml"),
            text.Replace("    Containers:", "    StorageClasses:\n      archive:\n        Priority: 100\n      fast:\n        Priority: 5\n        Default: true\n    Containers:"));
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", file, "-listen", cluster.Listen[0]);

        for (var i = 0; i < 4; i++)
        {
            var block = KeepstoreProcess.RandomBlock(2500 + i);
            using var put = await keep.PutAsync(KeepstoreProcess.Md5(block), block, UserToken);
            Assert.That(put.Headers.GetValues("X-Keep-Storage-Classes-Confirmed").Single(), Is.EqualTo("archive=3"), $"block {i}: the archive volume comes first");
        }

        Assert.That(BlocksOn(cluster.Disk0), Is.Zero);
        Assert.That(keep.Log, Does.Not.Contain("unknown config entry"));
    }

    [Test]
    public async Task Errors_answer_todays_status_codes()
    {
        var cluster = await WriteClusterAsync();
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", cluster.ConfigFile, "-listen", cluster.Listen[0]);

        // A body that is not its hash: 400, as today's keepstore (the seed's 422).
        var block = KeepstoreProcess.RandomBlock(3000);
        using (var mismatch = await keep.PutAsync("0123456789abcdef0123456789abcdef", block, UserToken))
        {
            Assert.That((int)mismatch.StatusCode, Is.EqualTo(400));
        }

        // A corrupt copy and nothing better: 502 (the seed's 500).
        var locator = await keep.PutBlockAsync(block, UserToken);
        var hash = KeepstoreProcess.Md5(block);
        var corrupt = (byte[])block.Clone();
        corrupt[0] ^= 0x55;
        var file = Path.Combine(cluster.Disk0, hash[..3], hash);
        if (File.Exists(file))
        {
            await File.WriteAllBytesAsync(file, corrupt);
        }
        else
        {
            await cluster.Container.GetBlobClient(hash).UploadAsync(new BinaryData(corrupt), overwrite: true);
        }

        var (status, content) = await keep.GetBlockAsync(locator, UserToken);
        Assert.That(status, Is.EqualTo(502), keep.Log);
        Assert.That(System.Text.Encoding.UTF8.GetString(content), Is.EqualTo("checksum mismatch in stored data\n"));
    }

    [Test]
    public async Task Config_errors_and_unknown_keys_and_drivers_are_one_line_each()
    {
        var cluster = await WriteClusterAsync(extraCollections: "      BlobSigningTTTL: 1h");
        await using (var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", cluster.ConfigFile, "-listen", cluster.Listen[0]))
        {
            Assert.That(keep.Log, Does.Contain("coffer: warning: deprecated or unknown config entry: Clusters.zzzzz.Collections.BlobSigningTTTL"));
        }

        var text = (await File.ReadAllTextAsync(cluster.ConfigFile)).Replace("      BlobSigningTTTL: 1h", "");
        var badDuration = KeepTestSecrets.WritePrivateFile(_root.Combine("bad-duration.yml"), text.Replace("BlobSigningTTL: 336h", "BlobSigningTTL: two weeks"));
        var result = await KeepstoreProcess.RunToFailureAsync(_coffer, "-config", badDuration, "-listen", cluster.Listen[0]);
        Assert.That(result.ExitCode, Is.Not.Zero);
        Assert.That(result.Error.TrimEnd().Split('\n'), Is.EqualTo(new[] { "coffer: Clusters.zzzzz.Collections.BlobSigningTTL: expected a duration such as 336h, 10s or 1h30m" }), result.ToString());
        Assert.That(result.Error, Does.Not.Contain("listening"));

        var s3 = KeepTestSecrets.WritePrivateFile(_root.Combine("s3.yml"), text.Replace("    Driver: Azure", "    Driver: S3"));
        result = await KeepstoreProcess.RunToFailureAsync(_coffer, "-config", s3, "-listen", cluster.Listen[0]);
        Assert.That(result.ExitCode, Is.Not.Zero);
        var lines = result.Error.TrimEnd().Split('\n').Where(l => !l.Contains("unknown config entry", StringComparison.Ordinal)).ToList();
        Assert.That(lines, Has.Count.EqualTo(1), result.ToString());
        Assert.That(lines[0], Does.StartWith($"coffer: Clusters.zzzzz.Volumes.{Azure} (Driver: S3): no installed package provides a volume connector for 's3://'"));
        AssertNoSecrets(result.Output + result.Error);
    }

    [Test]
    public async Task Help_names_both_dialects_and_where_the_config_file_is_found()
    {
        var cluster = await WriteClusterAsync();
        foreach (var args in new[] { new[] { "keepstore", "-help" }, ["keepstore", "-config", cluster.ConfigFile, "-help"] })
        {
            var help = await _coffer.RunAsync(args, TimeSpan.FromSeconds(60));
            Assert.That(help.ExitCode, Is.Zero, help.ToString());
            Assert.That(help.Output, Does.Contain("-config FILE"), "the config dialect's flag");
            Assert.That(help.Output, Does.Contain("ARVADOS_CONFIG").And.Contain("/etc/arvados/config.yml"), "the rule for finding the config without -config");
            Assert.That(help.Output, Does.Contain("-azure-storage-container-volume").And.Contain("-max-buffers N"), "the flag dialect's flags");
            Assert.That(help.Error, Is.Empty, "help reads no config and starts nothing");
        }
    }

    [Test]
    public async Task Without_a_system_root_token_the_admin_endpoints_refuse_everyone_and_a_warning_says_so()
    {
        var cluster = await WriteClusterAsync();
        var text = await File.ReadAllTextAsync(cluster.ConfigFile);
        var file = KeepTestSecrets.WritePrivateFile(_root.Combine("no-root-token.yml"), text.Replace($"    SystemRootToken: {DataManagerToken}\n", "    SystemRootToken: \"\"\n"));
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", file, "-listen", cluster.Listen[0]);
        var block = KeepstoreProcess.RandomBlock(1500);
        var locator = await keep.PutBlockAsync(block, UserToken);
        var hash = locator[..32];

        Assert.That(keep.Log, Does.Contain("warning: Clusters.zzzzz.SystemRootToken: secret token is not set"));
        var touch = new HttpMethod("TOUCH");
        foreach (var (method, path) in new[] { (HttpMethod.Get, "mounts"), (HttpMethod.Get, "index"), (HttpMethod.Get, $"mounts/{Local}/blocks"), (touch, hash), (HttpMethod.Delete, hash), (HttpMethod.Put, "trash") })
        {
            // Today's router (auth.RequireLiteralToken with "") would let every one of these through; coffer refuses them
            // as if the configured token matched nobody.
            using var anonymous = await keep.SendAsync(method, path, content: method == HttpMethod.Put ? new StringContent("[]") : null);
            using var user = await keep.SendAsync(method, path, UserToken, method == HttpMethod.Put ? new StringContent("[]") : null);
            Assert.That((int)anonymous.StatusCode, Is.AnyOf(401, 403), $"{method} /{path} without a token");
            Assert.That((int)user.StatusCode, Is.AnyOf(401, 403), $"{method} /{path} with a user's token");
        }

        using (var mounts = await keep.SendAsync(HttpMethod.Get, "mounts", UserToken))
        {
            Assert.That((int)mounts.StatusCode, Is.EqualTo(403), "as today's router answers a token that is not the configured one");
        }
        Assert.That(await keep.GetBlockAsync(locator, UserToken), Is.EqualTo((200, block)), "blocks are served as usual");
        AssertNoSecrets(keep.Log);
    }

    [Test]
    public async Task A_client_gone_mid_body_is_logged_as_499()
    {
        var cluster = await WriteClusterAsync();
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", cluster.ConfigFile, "-listen", cluster.Listen[0]);
        var hash = KeepstoreProcess.Md5(KeepstoreProcess.RandomBlock(1000));

        // A PUT whose client hangs up (RST, as a killed client) after a tenth of its body.
        using (var put = await ConnectAsync(keep, $"PUT /{hash} HTTP/1.1\r\nHost: keep\r\nAuthorization: OAuth2 {UserToken}\r\nContent-Length: 1000\r\n\r\n"))
        {
            await put.GetStream().WriteAsync(new byte[100]);
            await Task.Delay(200);
        }

        // The line comes when the server has noticed; a generous bound, not a speed assertion.
        for (var waited = 0; waited < 300 && !keep.Log.Contains($"PUT /{hash} 499 ", StringComparison.Ordinal); waited++)
        {
            await Task.Delay(100);
        }

        Assert.That(keep.Log, Does.Contain($"PUT /{hash} 499 "), "the PUT whose client went away");
        Assert.That(keep.Log, Does.Not.Contain("fail:"), "a client going away is not the server's failure");
        Assert.That(Directory.EnumerateFiles(cluster.Disk0, hash + "*", SearchOption.AllDirectories), Is.Empty, "nothing was stored");
        AssertNoSecrets(keep.Log);
    }

    [Test]
    public async Task The_azure_driver_parameters_are_applied_to_the_volume()
    {
        var container = await _azurite.CreateContainerAsync("tuned");
        await using var proxy = FaultProxy.Start(_azurite.Port);
        var listen = $"127.0.0.1:{FreePort()}";
        var yaml = $"""
            Clusters:
              zzzzz:
                SystemRootToken: {DataManagerToken}
                Services:
                  Keepstore:
                    InternalURLs:
                      "http://{listen}": {"{}"}
                Collections:
                  BlobSigning: false
                Volumes:
                  {Azure}:
                    Driver: Azure
                    DriverParameters:
                      StorageAccountName: {AzuriteServer.AccountName}
                      StorageAccountKey: {AzuriteServer.AccountKey}
                      StorageBaseURL: http://127.0.0.1:{proxy.Port}
                      ContainerName: {container.Name}
                      RequestTimeout: 1s
                      ListBlobsRetryDelay: 100ms
                      ListBlobsMaxAttempts: 2
                      WriteRaceInterval: 2s
                      WriteRacePollTime: 200ms
            """;
        var file = KeepTestSecrets.WritePrivateFile(_root.Combine("tuned.yml"), yaml);
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", file, "-listen", listen);

        // WriteRaceInterval: an empty blob under a block's name is waited for until 2 s after its Last-Modified (not 15 s).
        var racing = KeepstoreProcess.Md5([1, 2, 3, 4]);
        var empty = container.GetBlobClient(racing);
        await empty.UploadAsync(BinaryData.FromBytes([]));
        var lastModified = (await empty.GetPropertiesAsync()).Value.LastModified;
        var (status, _) = await keep.GetBlockAsync($"{racing}+4");
        Assert.That(status, Is.EqualTo(404), keep.Log);
        Assert.That(keep.Log, Does.Contain($"polling until {lastModified + TimeSpan.FromSeconds(2):O}"));

        // ListBlobsMaxAttempts: a listing that keeps failing with 503 is tried twice (each try with the SDK's own 4 retries).
        var listings = 0;
        proxy.Decide = request =>
        {
            if (!request.Target.Contains("comp=list", StringComparison.Ordinal))
            {
                return null;
            }

            Interlocked.Increment(ref listings);
            return new Fault.Status(503);
        };
        try
        {
            using var index = await keep.SendAsync(HttpMethod.Get, "index", DataManagerToken);
            Assert.That((int)index.StatusCode, Is.GreaterThanOrEqualTo(500), "an index that could not be listed is not answered as complete");
        }
        catch (HttpRequestException)
        {
            // Cut off once the answer had begun: visibly incomplete, as an index must be.
        }

        Assert.That(listings, Is.EqualTo(2 * 5), keep.Log);
        Assert.That(keep.Log.Split('\n').Count(l => l.Contains("retrying in 00:00:00.1000000", StringComparison.Ordinal)), Is.EqualTo(1), "one retry, after ListBlobsRetryDelay");

        // RequestTimeout: an Azure answer that takes 30 s is given up after 1 s, each of the SDK's 5 tries.
        var block = KeepstoreProcess.RandomBlock(2000);
        var hash = KeepstoreProcess.Md5(block);
        await container.GetBlobClient(hash).UploadAsync(BinaryData.FromBytes(block));
        var reads = 0;
        proxy.Decide = request =>
        {
            if (request.Method != "GET" || !request.Target.Contains(hash, StringComparison.Ordinal))
            {
                return null;
            }

            Interlocked.Increment(ref reads);
            return new Fault.Delay(TimeSpan.FromSeconds(30));
        };
        var (slowStatus, _) = await keep.GetBlockAsync($"{hash}+2000");
        Assert.That(slowStatus, Is.Not.EqualTo(200), keep.Log);
        Assert.That(reads, Is.EqualTo(5), "every try timed out (with the 2-minute default the first would have waited for the answer)");
        AssertNoSecrets(keep.Log);
    }

    [Test]
    public async Task A_directory_volume_that_was_full_takes_blocks_again_as_soon_as_space_is_freed()
    {
        // An 80 MiB tmpfs of its own (the suite runs as root, as the disk fault tests), kept above 64 MiB free.
        var disk = NewDisk("freed");
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=80m,mode=0755", "tmpfs", disk);
        try
        {
            var listen = $"127.0.0.1:{FreePort()}";
            var yaml = $"""
                Clusters:
                  zzzzz:
                    SystemRootToken: {DataManagerToken}
                    Services:
                      Keepstore:
                        InternalURLs:
                          "http://{listen}": {"{}"}
                    Collections:
                      BlobSigning: false
                    Volumes:
                      {Local}:
                        Driver: Directory
                        DriverParameters:
                          Root: {disk}
                          MinFree: 64MiB
                """;
            var file = KeepTestSecrets.WritePrivateFile(_root.Combine("freed.yml"), yaml);
            await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-config", file, "-listen", listen);
            var filler = Path.Combine(disk, "filler");
            await File.WriteAllBytesAsync(filler, new byte[20 << 20]);

            var block = KeepstoreProcess.RandomBlock(100_000);
            for (var i = 0; i < 2; i++)
            {
                using var full = await keep.PutAsync(KeepstoreProcess.Md5(block), block);
                Assert.That((int)full.StatusCode, Is.EqualTo(507), keep.Log);
                Assert.That(await full.Content.ReadAsStringAsync(), Is.EqualTo("insufficient storage\n"));
            }

            // Space freed: the very next PUT is stored (it used to keep answering 507 for a minute).
            File.Delete(filler);
            await keep.PutBlockAsync(block);
            Assert.That(BlocksOn(disk), Is.EqualTo(1));
        }
        finally
        {
            await RunAsync("umount", "-l", disk);
        }
    }

    private static async Task RunAsync(params string[] command)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command[0], command[1..]) { RedirectStandardError = true })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.That(process.ExitCode, Is.Zero, $"'{string.Join(' ', command)}' failed (this test mounts a tmpfs and needs root): {error}");
    }

    /// <summary>Connects, sends <paramref name="head"/>, and makes disposing the client reset the connection (as a killed client does).</summary>
    private static async Task<TcpClient> ConnectAsync(KeepstoreProcess keep, string head)
    {
        var client = new TcpClient { LingerState = new LingerOption(true, 0) };
        await client.ConnectAsync(keep.BaseAddress.Host, keep.BaseAddress.Port);
        await client.GetStream().WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
        return client;
    }
}
