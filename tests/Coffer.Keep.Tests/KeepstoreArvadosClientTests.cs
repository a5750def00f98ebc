using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Coffer.TestSupport;

namespace Coffer.Keep.Tests;

/// <summary>
/// What Arvados' own clients and API server need that the seed's keepstore lacked (issue 18, "Found with the
/// real Arvados client"), over the flag dialect.
/// </summary>
[Parallelizable(ParallelScope.None)]
public class KeepstoreArvadosClientTests
{
    private const string UserToken = KeepTestSecrets.UserToken;

    private TemporaryDirectory _root = null!;
    private CofferProcess _coffer = null!;
    private string _keyFile = null!;

    [OneTimeSetUp]
    public void SetUpCoffer()
    {
        _root = new TemporaryDirectory("keepclient");
        _coffer = KeepstoreProcess.CofferWithPlugins(_root);
        _keyFile = KeepTestSecrets.WritePrivateFile(_root.Combine("permission.key"), KeepTestSecrets.PermissionKey + "\n");
    }

    [OneTimeTearDown]
    public void TearDownCoffer() => _root.Dispose();

    private string NewDisk()
    {
        var path = _root.Combine($"disk-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>The API server's <c>Blob.verify_signature</c>: HMAC-SHA1 of <c>hash@token@expiry@ttlhex</c>, computed here independently.</summary>
    private static bool ApiServerAccepts(string signedLocator, string token, long ttlSeconds)
    {
        var match = Regex.Match(signedLocator, "^(?<hash>[0-9a-f]{32})\\+\\d+\\+A(?<sig>[0-9a-f]{40})@(?<exp>[0-9a-f]{8})$");
        Assert.That(match.Success, Is.True, signedLocator);
        var message = $"{match.Groups["hash"].Value}@{token}@{match.Groups["exp"].Value}@{ttlSeconds:x}";
#pragma warning disable CA5350 // Arvados signs with HMAC-SHA1.
        var expected = Convert.ToHexStringLower(HMACSHA1.HashData(Encoding.ASCII.GetBytes(KeepTestSecrets.PermissionKey), Encoding.UTF8.GetBytes(message)));
#pragma warning restore CA5350
        return expected == match.Groups["sig"].Value;
    }

    [Test]
    public async Task Put_signs_locators_in_the_ttl_form_the_api_server_verifies_and_both_forms_read_back()
    {
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", NewDisk(), "-enforce-permissions",
            "-permission-key-file", _keyFile, "-blob-signature-ttl", "2h");
        var block = KeepstoreProcess.RandomBlock(1000);

        var signed = await keep.PutBlockAsync(block, UserToken);

        Assert.That(ApiServerAccepts(signed, UserToken, 7200), Is.True, signed);
        Assert.That(await keep.GetBlockAsync(signed, UserToken), Is.EqualTo((200, block)));

        // A locator signed the pre-2016 way (no TTL in the message) is still read.
        var hash = KeepstoreProcess.Md5(block);
        var expiry = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString("x8");
#pragma warning disable CA5350 // Arvados signs with HMAC-SHA1.
        var legacy = Convert.ToHexStringLower(HMACSHA1.HashData(Encoding.ASCII.GetBytes(KeepTestSecrets.PermissionKey), Encoding.UTF8.GetBytes($"{hash}@{UserToken}@{expiry}")));
#pragma warning restore CA5350
        Assert.That(await keep.GetBlockAsync($"{hash}+{block.Length}+A{legacy}@{expiry}", UserToken), Is.EqualTo((200, block)));
        Assert.That((await keep.GetBlockAsync($"{hash}+{block.Length}+A{legacy}@{expiry}", UserToken + "x")).Status, Is.EqualTo(403));
    }

    [Test]
    public async Task Put_answers_the_storage_classes_confirmed_and_the_replicas_stored()
    {
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", NewDisk());
        var block = KeepstoreProcess.RandomBlock(2000);

        using var response = await keep.PutAsync(KeepstoreProcess.Md5(block), block);

        Assert.That((int)response.StatusCode, Is.EqualTo(200), keep.Log);
        Assert.That(response.Headers.GetValues("X-Keep-Storage-Classes-Confirmed").Single(), Is.EqualTo("default=1"));
        Assert.That(response.Headers.GetValues("X-Keep-Replicas-Stored").Single(), Is.EqualTo("1"));

        // Touching an existing copy confirms it the same way.
        using var again = await keep.PutAsync(KeepstoreProcess.Md5(block), block);
        Assert.That(again.Headers.GetValues("X-Keep-Storage-Classes-Confirmed").Single(), Is.EqualTo("default=1"));
    }

    [Test]
    public async Task Head_with_x_keep_signature_local_answers_a_freshly_signed_x_keep_locator()
    {
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", NewDisk(), "-permission-key-file", _keyFile);
        var block = KeepstoreProcess.RandomBlock(3000);
        var signed = await keep.PutBlockAsync(block, UserToken);

        using var request = new HttpRequestMessage(HttpMethod.Head, new Uri(keep.BaseAddress, signed));
        request.Headers.Authorization = new("OAuth2", UserToken);
        request.Headers.Add("X-Keep-Signature", $"local, {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.ffffffZ}");
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var head = await http.SendAsync(request);

        Assert.That((int)head.StatusCode, Is.EqualTo(200), keep.Log);
        var local = head.Headers.GetValues("X-Keep-Locator").Single();
        Assert.That(local, Does.StartWith($"{KeepstoreProcess.Md5(block)}+{block.Length}+A"));
        Assert.That(ApiServerAccepts(local, UserToken, 14 * 86400), Is.True, local);
        Assert.That(head.Headers.Vary, Does.Contain("X-Keep-Signature"));

        // Without the header nothing is added.
        using var plain = await keep.SendAsync(HttpMethod.Head, signed, UserToken);
        Assert.That(plain.Headers.Contains("X-Keep-Locator"), Is.False);
    }

    [Test]
    public async Task X_request_id_is_kept_or_generated_echoed_and_logged()
    {
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", NewDisk());
        var block = KeepstoreProcess.RandomBlock(100);
        var hash = KeepstoreProcess.Md5(block);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });

        using var put = new HttpRequestMessage(HttpMethod.Put, new Uri(keep.BaseAddress, hash)) { Content = new ByteArrayContent(block) };
        put.Headers.Add("X-Request-Id", "req-fromtheclient0001");
        using var putReply = await http.SendAsync(put);
        Assert.That(putReply.Headers.GetValues("X-Request-Id").Single(), Is.EqualTo("req-fromtheclient0001"));

        using var get = await keep.SendAsync(HttpMethod.Get, $"{hash}+{block.Length}");
        var generated = get.Headers.GetValues("X-Request-Id").Single();
        Assert.That(generated, Does.Match("^req-[0-9a-z]{20}$"));
        using var again = await keep.SendAsync(HttpMethod.Get, $"{hash}+{block.Length}");
        Assert.That(again.Headers.GetValues("X-Request-Id").Single(), Is.Not.EqualTo(generated), "a new id per request");

        // A header unfit for a log line is replaced, not copied.
        using var odd = new HttpRequestMessage(HttpMethod.Get, new Uri(keep.BaseAddress, $"{hash}+{block.Length}"));
        odd.Headers.TryAddWithoutValidation("X-Request-Id", new string('x', 200));
        using var oddReply = await http.SendAsync(odd);
        Assert.That(oddReply.Headers.GetValues("X-Request-Id").Single(), Does.Match("^req-[0-9a-z]{20}$"));

        await WaitForAsync(() => keep.Log.Contains(generated, StringComparison.Ordinal));
        Assert.That(keep.Log, Does.Match($"req-fromtheclient0001 PUT /{hash} 200"));
        Assert.That(keep.Log, Does.Match($"{generated} GET /{hash}\\+{block.Length} 200"));
    }

    [Test]
    public async Task Metrics_are_served_in_the_flag_dialect_too_without_a_token()
    {
        var disk = NewDisk();
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk, "-max-buffers", "7");
        var block = KeepstoreProcess.RandomBlock(1234);
        var locator = await keep.PutBlockAsync(block);
        Assert.That(await keep.GetBlockAsync(locator), Is.EqualTo((200, block)));

        var samples = await KeepstoreConfigTests.ScrapeAsync(keep, token: null);

        Assert.That(samples["arvados_keepstore_bufferpool_max_buffers"], Is.EqualTo(7));
        Assert.That(samples["request_duration_seconds_count{code=\"200\",method=\"GET\"}"], Is.EqualTo(1));
        var read = samples.Where(s => s.Key.StartsWith("arvados_keepstore_volume_io_bytes{", StringComparison.Ordinal) && s.Key.Contains("direction=\"out\"", StringComparison.Ordinal));
        Assert.That(read.Sum(s => s.Value), Is.EqualTo(1234));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(50);
        }
    }
}
