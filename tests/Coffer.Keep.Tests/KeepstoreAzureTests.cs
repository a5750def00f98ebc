using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Coffer.TestSupport;

namespace Coffer.Keep.Tests;

/// <summary><c>coffer keepstore</c> over Azurite containers, driven over HTTP as Arvados clients drive it.</summary>
[Parallelizable(ParallelScope.None)]
public class KeepstoreAzureTests
{
    private const string DataManagerToken = KeepTestSecrets.DataManagerToken;
    private const string UserToken = KeepTestSecrets.UserToken;
    private const string PermissionKey = KeepTestSecrets.PermissionKey;

    private TemporaryDirectory _root = null!;
    private CofferProcess _coffer = null!;
    private AzuriteServer _azurite = null!;
    private string _firstKeyFile = null!;
    private string _secondKeyFile = null!;
    private string _permissionKeyFile = null!;
    private string _tokenFile = null!;

    private string Endpoint => $"http://127.0.0.1:{_azurite.Port}";

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _root = new TemporaryDirectory("keepaz");
        _coffer = KeepstoreProcess.CofferWithPlugins(_root);
        _azurite = await AzuriteServer.GetSharedAsync();
        _firstKeyFile = PrivateFile("firstaccount.key", AzuriteServer.AccountKey + "\n");
        _secondKeyFile = PrivateFile("secondaccount.key", AzuriteServer.SecondAccountKey + "\n");
        _permissionKeyFile = PrivateFile("permission.key", PermissionKey + "\n");
        _tokenFile = PrivateFile("datamanager.token", DataManagerToken + "\n");
    }

    [OneTimeTearDown]
    public void Stop() => _root.Dispose();

    private string PrivateFile(string name, string content) => KeepTestSecrets.WritePrivateFile(_root.Combine(name), content);

    /// <summary>A server over one new container in each account.</summary>
    private async Task<(KeepstoreProcess Keep, BlobContainerClient First, BlobContainerClient Second)> StartOverBothAccountsAsync(string prefix)
    {
        var first = await _azurite.CreateContainerAsync(prefix + "a");
        var second = await _azurite.CreateContainerAsync(prefix + "x", SecondAccount());
        var keep = await KeepstoreProcess.StartAsync(_coffer,
        [
            "-azure-storage-endpoint", Endpoint,
            .. Account(_firstKeyFile, AzuriteServer.AccountName, first.Name),
            .. Account(_secondKeyFile, AzuriteServer.SecondAccountName, second.Name),
        ]);
        return (keep, first, second);
    }

    private BlobServiceClient SecondAccount() => new(_azurite.ConnectionStringOf(AzuriteServer.SecondAccountName, AzuriteServer.SecondAccountKey));

    private string[] Account(string keyFile, string account, params string[] containers) =>
    [
        "-azure-storage-account-key-file", keyFile,
        "-azure-storage-account-name", account,
        .. containers.SelectMany(c => new[] { "-azure-storage-container-volume", c }),
    ];

    private static async Task<List<string>> BlobNamesAsync(BlobContainerClient container)
    {
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        return names;
    }

    [Test]
    public async Task The_seed_multi_account_example_spreads_blocks_over_both_accounts_containers_and_serves_them()
    {
        var a = await _azurite.CreateContainerAsync("a");
        var b = await _azurite.CreateContainerAsync("b");
        var x = await _azurite.CreateContainerAsync("x", SecondAccount());
        var y = await _azurite.CreateContainerAsync("y", SecondAccount());
        await using var keep = await KeepstoreProcess.StartAsync(_coffer,
        [
            "-azure-storage-endpoint", Endpoint,
            .. Account(_firstKeyFile, AzuriteServer.AccountName, a.Name, b.Name),
            .. Account(_secondKeyFile, AzuriteServer.SecondAccountName, x.Name, y.Name),
            "-permission-key-file", _permissionKeyFile,
            "-data-manager-token-file", _tokenFile,
        ]);

        var blocks = Enumerable.Range(0, 8).Select(i => KeepstoreProcess.RandomBlock(1000 + i)).ToList();
        var locators = new List<string>();
        foreach (var block in blocks)
        {
            using var response = await keep.PutAsync(KeepstoreProcess.Md5(block), block, UserToken);
            Assert.That((int)response.StatusCode, Is.EqualTo(200), keep.Log);
            Assert.That(response.Headers.GetValues("X-Keep-Replicas-Stored").Single(), Is.EqualTo("3"));
            var locator = (await response.Content.ReadAsStringAsync()).TrimEnd('\n');
            Assert.That(locator, Does.Match($"^{KeepstoreProcess.Md5(block)}\\+{block.Length}\\+A[0-9a-f]{{40}}@[0-9a-f]{{8}}$"));
            locators.Add(locator);
        }

        // Round-robin: each of the four containers, in both accounts, got two of the eight blocks.
        foreach (var container in new[] { a, b, x, y })
        {
            Assert.That(await BlobNamesAsync(container), Has.Count.EqualTo(2), container.Uri.ToString());
        }

        for (var i = 0; i < blocks.Count; i++)
        {
            var (status, content) = await keep.GetBlockAsync(locators[i]);
            Assert.That(status, Is.EqualTo(200));
            Assert.That(content, Is.EqualTo(blocks[i]));
        }

        using var index = await keep.SendAsync(HttpMethod.Get, "index", DataManagerToken);
        var lines = (await index.Content.ReadAsStringAsync()).Split('\n');
        Assert.That(lines[^2..], Is.EqualTo(new[] { "", "" }), "the index ends with a blank line");
        Assert.That(lines[..^2].Select(l => l.Split(' ')[0]), Is.EquivalentTo(blocks.Select(b => $"{KeepstoreProcess.Md5(b)}+{b.Length}")));
        Assert.That(lines[..^2], Has.All.Match("^[0-9a-f]{32}\\+[0-9]+ [0-9]{19}$"));

        using var mounts = await keep.SendAsync(HttpMethod.Get, "mounts");
        using var mountsJson = JsonDocument.Parse(await mounts.Content.ReadAsStringAsync());
        Assert.That(mountsJson.RootElement.GetArrayLength(), Is.EqualTo(4));
        Assert.That(mountsJson.RootElement.EnumerateArray().Select(m => m.GetProperty("ReadOnly").GetBoolean()), Has.All.False);

        Assert.That(keep.Log, Does.Not.Contain(AzuriteServer.AccountKey).And.Not.Contain(AzuriteServer.SecondAccountKey)
            .And.Not.Contain(PermissionKey).And.Not.Contain(DataManagerToken));
    }

    [Test]
    public async Task Two_servers_sharing_one_container_take_concurrent_puts_and_both_serve_every_block()
    {
        var shared = await _azurite.CreateContainerAsync("shared");
        string[] flags = ["-azure-storage-endpoint", Endpoint, .. Account(_firstKeyFile, AzuriteServer.AccountName, shared.Name)];
        await using var first = await KeepstoreProcess.StartAsync(_coffer, flags);
        await using var second = await KeepstoreProcess.StartAsync(_coffer, flags);

        var own = Enumerable.Range(0, 12).Select(i => KeepstoreProcess.RandomBlock(4096 + i)).ToList();
        var common = Enumerable.Range(0, 6).Select(i => KeepstoreProcess.RandomBlock(70_000 + i)).ToList();
        var puts = new List<Task<string>>();
        for (var i = 0; i < own.Count; i++)
        {
            puts.Add((i % 2 == 0 ? first : second).PutBlockAsync(own[i]));
        }

        foreach (var block in common)
        {
            // The same block to both servers at the same moment.
            puts.Add(first.PutBlockAsync(block));
            puts.Add(second.PutBlockAsync(block));
        }

        await Task.WhenAll(puts);

        foreach (var block in own.Concat(common))
        {
            foreach (var server in new[] { first, second })
            {
                var (status, content) = await server.GetBlockAsync(KeepstoreProcess.Md5(block));
                Assert.That(status, Is.EqualTo(200), server.Log);
                Assert.That(content, Is.EqualTo(block));
            }
        }

        Assert.That(await BlobNamesAsync(shared), Is.EquivalentTo(own.Concat(common).Select(KeepstoreProcess.Md5)));
    }

    [Test]
    public async Task With_enforced_permissions_only_a_valid_unexpired_signature_for_the_token_reads()
    {
        var container = await _azurite.CreateContainerAsync("perm");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer,
        [
            "-azure-storage-endpoint", Endpoint, .. Account(_firstKeyFile, AzuriteServer.AccountName, container.Name),
            "-enforce-permissions", "-permission-key-file", _permissionKeyFile, "-blob-signature-ttl", "336h",
        ]);
        var block = Encoding.UTF8.GetBytes("signed content");
        var hash = KeepstoreProcess.Md5(block);

        var locator = await keep.PutBlockAsync(block, UserToken);

        // The server's signature is the one Arvados' algorithm gives for this key, token and expiry.
        var expiryHex = locator[^8..];
        Assert.That(locator, Is.EqualTo($"{hash}+{block.Length}{Signature(hash, UserToken, expiryHex, 336 * 3600)}"), "signed hash@token@expiry@ttl, as Arvados since 2016");
        var expiry = DateTimeOffset.FromUnixTimeSeconds(Convert.ToInt64(expiryHex, 16));
        Assert.That(expiry, Is.EqualTo(DateTimeOffset.UtcNow.AddHours(336)).Within(TimeSpan.FromMinutes(2)));

        var pastHex = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds().ToString("x8");
        var signature = locator[(locator.IndexOf("+A", StringComparison.Ordinal) + 2)..^9];
        var tampered = locator.Replace(signature, (signature[0] == 'a' ? "b" : "a") + signature[1..], StringComparison.Ordinal);
        Assert.Multiple(async () =>
        {
            Assert.That((await keep.GetBlockAsync(locator, UserToken)).Status, Is.EqualTo(200), "signed");
            Assert.That((await keep.GetBlockAsync(locator, UserToken)).Content, Is.EqualTo(block));
            Assert.That((await keep.GetBlockAsync($"{hash}+{block.Length}", UserToken)).Status, Is.EqualTo(403), "unsigned");
            Assert.That((await keep.GetBlockAsync(tampered, UserToken)).Status, Is.EqualTo(403), "tampered");
            Assert.That((await keep.GetBlockAsync(locator, "sometoken")).Status, Is.EqualTo(403), "another token");
            Assert.That((await keep.GetBlockAsync(locator)).Status, Is.EqualTo(403), "no token");
            Assert.That((await keep.GetBlockAsync($"{hash}+{block.Length}{Signature(hash, UserToken, pastHex)}", UserToken)).Status, Is.EqualTo(401), "expired");
        });
        using (var bearer = await keep.SendAsync(HttpMethod.Get, locator, UserToken, scheme: "Bearer"))
        {
            Assert.That((int)bearer.StatusCode, Is.EqualTo(200), "a Bearer token counts as well as OAuth2");
        }

        using var head = await keep.SendAsync(HttpMethod.Head, locator, UserToken);
        Assert.That((int)head.StatusCode, Is.EqualTo(200));
        Assert.That(head.Content.Headers.ContentLength, Is.EqualTo(block.Length));

        // Requests are logged, but neither the signature (it grants access) nor the token is.
        Assert.That(keep.Log, Does.Contain($"GET /{hash}+{block.Length}+A… 200"));
        Assert.That(keep.Log, Does.Not.Contain(signature).And.Not.Contain(UserToken).And.Not.Contain(PermissionKey));
    }

    [Test]
    public async Task Refused_puts_store_nothing_anywhere()
    {
        var (keep, a, x) = await StartOverBothAccountsAsync("ref");
        await using var _ = keep;
        var block = Encoding.UTF8.GetBytes("the real content");
        var wrongHash = KeepstoreProcess.Md5(Encoding.UTF8.GetBytes("other content"));

        using (var mismatch = await keep.PutAsync(wrongHash, block))
        {
            Assert.That((int)mismatch.StatusCode, Is.EqualTo(422));
            Assert.That(await mismatch.Content.ReadAsStringAsync(), Is.EqualTo("Hash mismatch in request\n"));
        }

        Assert.That(await RawStatusAsync(keep, $"PUT /{wrongHash} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), Is.EqualTo(411));
        Assert.That(await RawStatusAsync(keep, $"PUT /{wrongHash} HTTP/1.1\r\nHost: x\r\nContent-Length: {(64 * 1024 * 1024) + 1}\r\n\r\n"), Is.EqualTo(413));
        Assert.That(await BlobNamesAsync(a), Is.Empty);
        Assert.That(await BlobNamesAsync(x), Is.Empty);

        Assert.That(await RawStatusAsync(keep, "GET /nonsense HTTP/1.1\r\nHost: x\r\n\r\n"), Is.EqualTo(400));
        using var missing = await keep.SendAsync(HttpMethod.Get, wrongHash);
        Assert.That((int)missing.StatusCode, Is.EqualTo(404));
    }

    [Test]
    public async Task A_corrupt_copy_is_never_served_and_the_good_copy_on_the_other_volume_is()
    {
        var (keep, a, x) = await StartOverBothAccountsAsync("corrupt");
        await using var _ = keep;
        var block = KeepstoreProcess.RandomBlock(100_000);
        var hash = KeepstoreProcess.Md5(block);
        await keep.PutBlockAsync(block);

        // The first volume gets a bad copy, the second a good one.
        var (holder, other) = (a, x);
        await other.GetBlobClient(hash).UploadAsync(new BinaryData(block), overwrite: true);
        var corrupt = (byte[])block.Clone();
        corrupt[5000] ^= 0xff;
        await holder.GetBlobClient(hash).UploadAsync(new BinaryData(corrupt), overwrite: true);

        // A GET checks the first copy whole before sending a byte: the flaw sends it on to the good copy.
        Assert.That(await keep.GetBlockAsync($"{hash}+{block.Length}"), Is.EqualTo((200, block)), keep.Log);

        // The corrupt copy is remembered and skipped: later GETs, with and without size, get the good copy.
        foreach (var locator in new[] { $"{hash}+{block.Length}", hash })
        {
            var (status, content) = await keep.GetBlockAsync(locator);
            Assert.That(status, Is.EqualTo(200), keep.Log);
            Assert.That(content, Is.EqualTo(block));
        }

        // With both copies corrupt, nothing is served.
        await other.GetBlobClient(hash).UploadAsync(new BinaryData(corrupt), overwrite: true);
        var (badStatus, badContent) = await keep.GetBlockAsync(hash);
        Assert.That(badStatus, Is.EqualTo(500));
        Assert.That(Encoding.UTF8.GetString(badContent), Is.EqualTo("Hash mismatch in stored data\n"));
    }

    [Test]
    public async Task Beyond_max_requests_in_flight_the_server_answers_503()
    {
        var container = await _azurite.CreateContainerAsync("busy");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer,
        [
            "-azure-storage-endpoint", Endpoint, .. Account(_firstKeyFile, AzuriteServer.AccountName, container.Name),
            "-max-buffers", "1", "-max-requests", "1",
        ]);
        var hash = KeepstoreProcess.Md5([1, 2, 3]);

        // A PUT whose body never finishes keeps its request in flight.
        using var slow = new TcpClient();
        await slow.ConnectAsync(keep.BaseAddress.Host, keep.BaseAddress.Port);
        var stream = slow.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"PUT /{hash} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n\u0001"));
        await Task.Delay(500);

        using (var busy = await keep.SendAsync(HttpMethod.Get, "status.json"))
        {
            Assert.That((int)busy.StatusCode, Is.EqualTo(503));
        }

        await stream.WriteAsync(new byte[] { 2, 3 });
        var reply = await ReadHeadAsync(stream);
        Assert.That(reply, Does.StartWith("HTTP/1.1 200"));

        // The PUT holds its slot until its handler returns, which can be just after its reply reached us: the
        // server may answer 503 a moment longer, then must serve again.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var status = await keep.SendAsync(HttpMethod.Get, "status.json");
        while ((int)status.StatusCode == 503 && DateTime.UtcNow < deadline)
        {
            status.Dispose();
            await Task.Delay(20);
            status = await keep.SendAsync(HttpMethod.Get, "status.json");
        }

        using var served = status;
        Assert.That((int)status.StatusCode, Is.EqualTo(200), "the slot was never released");
        using var json = JsonDocument.Parse(await status.Content.ReadAsStringAsync());
        Assert.That(json.RootElement.GetProperty("RequestsMax").GetInt32(), Is.EqualTo(1));
        Assert.That(json.RootElement.GetProperty("BufferPool").GetProperty("BuffersMax").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public async Task Data_manager_endpoints_need_its_token_and_delete_is_refused_while_never_delete()
    {
        var container = await _azurite.CreateContainerAsync("dm");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer,
        [
            "-azure-storage-endpoint", Endpoint, .. Account(_firstKeyFile, AzuriteServer.AccountName, container.Name),
            "-data-manager-token-file", _tokenFile,
        ]);
        var block = Encoding.UTF8.GetBytes("keep me");
        var hash = KeepstoreProcess.Md5(block);
        await keep.PutBlockAsync(block);

        Assert.Multiple(async () =>
        {
            Assert.That((int)(await keep.SendAsync(HttpMethod.Get, "index", UserToken)).StatusCode, Is.EqualTo(401));
            Assert.That((int)(await keep.SendAsync(HttpMethod.Get, "index")).StatusCode, Is.EqualTo(401));
            Assert.That((int)(await keep.SendAsync(HttpMethod.Put, "trash", UserToken, new StringContent("[]"))).StatusCode, Is.EqualTo(401));
            Assert.That((int)(await keep.SendAsync(HttpMethod.Put, "pull", null, new StringContent("[]"))).StatusCode, Is.EqualTo(401));
            Assert.That((int)(await keep.SendAsync(HttpMethod.Put, $"untrash/{hash}", UserToken)).StatusCode, Is.EqualTo(401));
            Assert.That((int)(await keep.SendAsync(HttpMethod.Delete, hash, UserToken)).StatusCode, Is.EqualTo(403));
            Assert.That((int)(await keep.SendAsync(HttpMethod.Delete, hash, DataManagerToken)).StatusCode, Is.EqualTo(405));
            Assert.That((int)(await keep.SendAsync(HttpMethod.Put, "trash", DataManagerToken, new StringContent("not json"))).StatusCode, Is.EqualTo(400));
        });

        using var prefixed = await keep.SendAsync(HttpMethod.Get, $"index/{hash[..3]}", DataManagerToken);
        Assert.That(await prefixed.Content.ReadAsStringAsync(), Does.StartWith($"{hash}+{block.Length} ").And.EndWith("\n\n"));
        using var trashList = await keep.SendAsync(HttpMethod.Put, "trash", DataManagerToken, new StringContent($"[{{\"locator\":\"{hash}\",\"block_mtime\":1}}]"));
        Assert.That(await trashList.Content.ReadAsStringAsync(), Is.EqualTo("Received 1 trash requests\n"));
        Assert.That((await keep.GetBlockAsync(hash)).Status, Is.EqualTo(200), "never-delete keeps the block");
    }

    private static string Signature(string hash, string token, string expiryHex, long? ttlSeconds = null)
    {
        var message = ttlSeconds is { } ttl ? $"{hash}@{token}@{expiryHex}@{ttl:x}" : $"{hash}@{token}@{expiryHex}";
#pragma warning disable CA5350 // Arvados' signatures are HMAC-SHA1.
        using var hmac = new HMACSHA1(Encoding.ASCII.GetBytes(PermissionKey));
#pragma warning restore CA5350
        return $"+A{Convert.ToHexStringLower(hmac.ComputeHash(Encoding.ASCII.GetBytes(message)))}@{expiryHex}";
    }

    private static async Task<int> RawStatusAsync(KeepstoreProcess keep, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(keep.BaseAddress.Host, keep.BaseAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var head = await ReadHeadAsync(stream);
        return int.Parse(head.Split(' ')[1]);
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return received.ToString();
    }
}
