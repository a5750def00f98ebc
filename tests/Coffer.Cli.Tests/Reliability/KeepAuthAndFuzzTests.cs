using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// One keepstore with <c>-enforce-permissions</c> over a directory volume: what each kind of caller may do,
/// and thousands of seeded hostile requests sent over raw TCP to its locator and request parsers.
/// </summary>
[NonParallelizable]
public class KeepAuthAndFuzzTests
{
    private TemporaryDirectory _root = null!;
    private KeepstoreProcess _keep = null!;
    private string _volume = null!;
    private string _locator = null!;
    private byte[] _block = null!;

    private static string DataManager => KeepTestSecrets.DataManagerToken;

    private static string User => KeepTestSecrets.UserToken;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _root = new TemporaryDirectory("keep-auth");
        var coffer = KeepstoreProcess.CofferWithPlugins(_root);
        _volume = _root.Combine("sandbox", "volume");
        Directory.CreateDirectory(_volume);
        var key = KeepTestSecrets.WritePrivateFile(_root.Combine("permission.key"), KeepTestSecrets.PermissionKey);
        var token = KeepTestSecrets.WritePrivateFile(_root.Combine("dm.token"), DataManager);
        _keep = await KeepstoreProcess.StartAsync(coffer, "-volume", _volume, "-enforce-permissions", "-permission-key-file", key,
            "-data-manager-token-file", token, "-blob-signature-ttl", "336h", "-never-delete=false");
        _block = Encoding.UTF8.GetBytes("the one block the fuzz tries to reach");
        _locator = await _keep.PutBlockAsync(_block, User);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _keep.DisposeAsync();
        Assert.That(_keep.Log, Does.Not.Contain(DataManager).And.Not.Contain(User).And.Not.Contain(KeepTestSecrets.PermissionKey), "a secret reached the keepstore log");
        _root.Dispose();
    }

    private IEnumerable<string> BlockFiles() => Directory.GetFiles(_volume, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Where(n => n!.Length == 32 && !n.Contains('.')).Select(n => n!);

    [Test]
    public async Task Without_a_token_nothing_is_stored()
    {
        var block = Encoding.UTF8.GetBytes("anonymous write");
        var before = BlockFiles().ToList();

        using var anonymous = await _keep.PutAsync(KeepstoreProcess.Md5(block), block);
        using var empty = await _keep.SendAsync(HttpMethod.Put, KeepstoreProcess.Md5(block), token: "", content: new ByteArrayContent(block));

        Assert.That((int)anonymous.StatusCode, Is.EqualTo(401), await anonymous.Content.ReadAsStringAsync());
        Assert.That((int)empty.StatusCode, Is.EqualTo(401));
        Assert.That(BlockFiles(), Is.EquivalentTo(before), "a refused PUT stored nothing");
    }

    [Test]
    public async Task Without_a_valid_signature_nothing_is_served()
    {
        var hash = KeepstoreProcess.Md5(_block);
        var signature = Regex.Match(_locator, @"\+A([0-9a-f]{40})@").Groups[1].Value;
        var forged = _locator.Replace(signature, new string('0', 40), StringComparison.Ordinal);
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head })
        {
            var cases = new (string Path, string? Token, int Status)[]
            {
                (_locator, User, 200),
                (_locator, null, 403),
                (_locator, DataManager, 403),
                (_locator, "someone-else", 403),
                (hash, User, 403),
                ($"{hash}+{_block.Length}", DataManager, 403),
                (forged, User, 403),
                (_locator.ToUpperInvariant(), User, 400),
            };
            foreach (var (path, token, status) in cases)
            {
                using var response = await _keep.SendAsync(method, path, token);
                Assert.That((int)response.StatusCode, Is.EqualTo(status), $"{method} {path} with {(token is null ? "no token" : token == User ? "the user's token" : token == DataManager ? "the data manager token" : "another token")}");
                if (status != 200)
                {
                    Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.Not.EqualTo(_block), "a refusal carries no block");
                }
            }
        }
    }

    [Test]
    public async Task Index_delete_trash_untrash_and_pull_need_the_data_manager_token()
    {
        var hash = KeepstoreProcess.Md5(_block);
        var requests = new (HttpMethod Method, string Path, string Body, int Refused)[]
        {
            (HttpMethod.Get, "index", "", 401),
            (HttpMethod.Get, $"index/{hash[..3]}", "", 401),
            (HttpMethod.Get, $"index?prefix={hash[..2]}", "", 401),
            (HttpMethod.Delete, hash, "", 403),
            (HttpMethod.Put, "trash", $"[{{\"locator\":\"{hash}\",\"block_mtime\":1,\"mount_uuid\":\"\"}}]", 401),
            (HttpMethod.Put, "pull", $"[{{\"locator\":\"{hash}+{_block.Length}\",\"servers\":[\"http://127.0.0.1:1\"]}}]", 401),
            (HttpMethod.Put, $"untrash/{hash}", "", 401),
        };
        foreach (var (method, path, body, refused) in requests)
        {
            foreach (var token in new[] { null, User, "", DataManager + "x", DataManager[..^1] })
            {
                using var response = await _keep.SendAsync(method, path, token, new StringContent(body));
                Assert.That((int)response.StatusCode, Is.EqualTo(refused), $"{method} {path} with token '{token}'");
                Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain(hash + "+"), "a refused index lists nothing");
            }
        }

        using var index = await _keep.SendAsync(HttpMethod.Get, "index", DataManager, scheme: "Bearer");
        Assert.That((int)index.StatusCode, Is.EqualTo(200), "the data manager token (as a Bearer token too) is accepted");
        Assert.That(await index.Content.ReadAsStringAsync(), Does.Contain(hash + "+"));
        Assert.That(BlockFiles(), Does.Contain(hash), "no refused request removed the block");
        Assert.That((await _keep.GetBlockAsync(_locator, User)).Content, Is.EqualTo(_block));
    }

    [Test]
    public void Tokens_and_signatures_are_compared_in_constant_time()
    {
        // By inspection of the code that compares secrets: every comparison goes through FixedTimeEquals.
        var signer = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "Host", "Keep", "BlobSigner.cs"));
        var secrets = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "Host", "Keep", "KeepstoreSecrets.cs"));
        var api = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "Host", "Keep", "KeepHttpApi.cs"));

        Assert.That(Regex.Matches(signer, @"CryptographicOperations\.FixedTimeEquals\(given, (legacy|current)\)"), Has.Count.EqualTo(2), "both signature forms");
        Assert.That(secrets, Does.Contain("CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), _dataManagerTokenDigest)"));
        foreach (var (name, text) in new[] { ("BlobSigner.cs", signer), ("KeepstoreSecrets.cs", secrets), ("KeepHttpApi.cs", api) })
        {
            Assert.That(text, Does.Not.Match(@"(token|Token|signature|given)\s*[!=]=\s*[_a-zA-Z]").And.Not.Match(@"(token|given|signature)\S*\.(SequenceEqual|Equals)\("), $"{name} compares a secret with an early-exit comparison");
        }
    }

    [Test]
    public async Task Hostile_requests_get_clear_answers_and_store_nothing([Values(21)] int seed)
    {
        const int Cases = 2500;
        var random = new Random(seed);
        var hash = KeepstoreProcess.Md5(_block);
        string[] bases = [_locator, hash, $"{hash}+{_block.Length}", "index", $"index/{hash[..4]}", "mounts", "mounts/x/blocks", $"untrash/{hash}", "trash", "pull", "status.json", "", $"{hash}+{_block.Length}+K@xyzzy+Afff@1"];
        string[] methods = ["GET", "HEAD", "PUT", "DELETE", "POST", "OPTIONS", "PATCH", "get", "PUT ", "TRACE"];
        string?[] tokens = [null, User, DataManager, "", "x", DataManager + " ", new string('t', 9000)];
        string[] schemes = ["OAuth2", "Bearer", "Basic", "oauth2", ""];
        string[] bodies = ["", "[]", "null", "{}", "[{\"locator\":\"../../x\",\"servers\":[\"http://127.0.0.1:1\"]}]", "[{\"locator\":\"" + hash + "\",\"block_mtime\":-1}]", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "the one block the fuzz tries to reach"];
        var before = BlockFiles().ToHashSet();
        var statuses = new Dictionary<int, int>();
        var stored = new HashSet<string>();
        var parent = Path.GetDirectoryName(_volume)!;

        var requests = Enumerable.Range(0, Cases).Select(i =>
        {
            var path = bases[random.Next(bases.Length)];
            var (mutated, what) = random.Next(3) == 0 ? (Encoding.UTF8.GetBytes(path), "as is") : Mutator.Mutate(random, Encoding.UTF8.GetBytes(path));
            var text = Encoding.Latin1.GetString(mutated).Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Replace(" ", "%20", StringComparison.Ordinal);
            var prefix = random.Next(6) switch { 0 => "/../", 1 => "//", 2 => "/%2e%2e/", _ => "/" };
            var token = tokens[random.Next(tokens.Length)];
            var body = bodies[random.Next(bodies.Length)];
            return (Index: i, Method: methods[random.Next(methods.Length)], Path: prefix + text, Auth: token is null ? null : $"{schemes[random.Next(schemes.Length)]} {token}", Body: body, What: what);
        }).ToList();

        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (r, ct) =>
        {
            var label = $"seed {seed} case {r.Index}: {r.Method} {r.Path} ({r.What})";
            int status;
            try
            {
                status = await SendRawAsync(r.Method, r.Path, r.Auth, r.Body).WaitAsync(TimeSpan.FromSeconds(15), ct);
            }
            catch (TimeoutException)
            {
                throw new AssertionException($"{label}: no answer within 15 s");
            }

            lock (statuses)
            {
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                if (status == 200 && r.Method == "PUT" && r.Body.Length > 0 && KeepstoreProcess.Md5(Encoding.UTF8.GetBytes(r.Body)) is var md5 && r.Path.Contains(md5, StringComparison.Ordinal))
                {
                    stored.Add(md5);
                }
            }

            Assert.That(status, Is.AnyOf(200, 400, 401, 403, 404, 405, 411, 413, 414, 422, 431, 505, 507), $"{label}: answered {status}\n{_keep.Log}");
        });

        TestContext.Out.WriteLine(string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.That(_keep.HasExited, Is.False, "the server is still running");
        Assert.That(BlockFiles().ToHashSet(), Is.SubsetOf(before.Union(stored)), "only well-formed, authorized PUTs stored blocks");
        Assert.That(Directory.GetFileSystemEntries(parent).Select(Path.GetFileName), Is.EquivalentTo(new[] { "volume" }), "nothing was written beside the volume");
        foreach (var file in Directory.GetFiles(_volume, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f).Length == 32))
        {
            Assert.That(KeepstoreProcess.Md5(File.ReadAllBytes(file)), Is.EqualTo(Path.GetFileName(file)), "every stored block is whole");
        }

        Assert.That((await _keep.GetBlockAsync(_locator, User)).Status, Is.EqualTo(200), "the block is still served");
    }

    // One request over a fresh connection, byte for byte as given: HttpClient would refuse or normalise most of them.
    private async Task<int> SendRawAsync(string method, string path, string? authorization, string body)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(_keep.BaseAddress.Host, _keep.BaseAddress.Port);
        var stream = client.GetStream();
        var content = Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder($"{method} {path} HTTP/1.1\r\nHost: {_keep.BaseAddress.Authority}\r\nConnection: close\r\n");
        if (authorization is not null)
        {
            head.Append($"Authorization: {authorization}\r\n");
        }

        head.Append($"Content-Length: {content.Length}\r\n\r\n");
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head.ToString()));
        await stream.WriteAsync(content);
        var buffer = new byte[12];
        var read = await stream.ReadAtLeastAsync(buffer, 12, throwOnEndOfStream: false);
        var line = Encoding.ASCII.GetString(buffer, 0, read);
        return read == 12 && line.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(line[9..12], out var status)
            ? status
            : throw new AssertionException($"no HTTP status line: '{line}'");
    }
}
