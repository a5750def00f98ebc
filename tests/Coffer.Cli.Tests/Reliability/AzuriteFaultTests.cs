using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// Backup, restore, check and keepstore volume operations against real Azurite through a seeded fault proxy:
/// resets, 500/503 bursts, 429/503 with Retry-After, slow answers, bodies cut short. Each run either succeeds
/// or fails with one line, and what it reported as done is all there afterwards.
/// </summary>
[NonParallelizable]
public class AzuriteFaultTests
{
    private static readonly Fault[] Faults =
    [
        new Fault.Reset(), new Fault.Status(500), new Fault.Status(503), new Fault.Status(503, 1), new Fault.Status(429, 1),
        new Fault.Delay(TimeSpan.FromMilliseconds(300)), new Fault.CutBody(100),
    ];

    private static void AssertOneLine(CofferResult result, string what)
    {
        Assert.That(result.Error.Trim().Split('\n').Where(l => !l.Contains("warning", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(1), $"{what} failed with one line:\n{result}");
        Assert.That(result.Error, Does.Not.Contain("internal error").And.Not.Contain("   at "), $"{what}:\n{result}");
    }

    [Test]
    public async Task Backup_and_restore_through_faults_succeed_or_fail_with_one_line_and_the_store_stays_consistent()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        await using var proxy = FaultProxy.Start(azurite.Port);
        var container = await azurite.CreateContainerAsync("faults");
        using var root = new TemporaryDirectory("az-faults");
        var coffer = KeepstoreProcess.CofferWithPlugins(root);
        coffer.Environment["COFFER_TEST_WEAK_KDF"] = "1";
        coffer.Environment["COFFER_PASSPHRASE"] = EngineHarness.Passphrase;
        var source = root.Combine("source");
        TreeAssert.BuildSample(source, seed: 3);
        string[] account = [$"account_name={AzuriteServer.AccountName}", $"account_key={AzuriteServer.AccountKey}"];
        Assert.That((await coffer.RunAsync(["store", "add", "faulty", $"azblob://{container.Name}/store", .. account, $"endpoint={proxy.EndpointOf(AzuriteServer.AccountName)}"])).ExitCode, Is.Zero);
        Assert.That((await coffer.RunAsync(["store", "add", "direct", $"azblob://{container.Name}/store", .. account, $"endpoint={azurite.BlobEndpoint}"])).ExitCode, Is.Zero);
        Assert.That((await coffer.RunAsync("at", "@direct", "create")).ExitCode, Is.Zero);

        var backedUp = 0;
        var restored = 0;
        for (var seed = 1; seed <= 4; seed++)
        {
            File.WriteAllText(Path.Combine(source, "changing.txt"), $"run {seed}\n");
            proxy.Decide = FaultProxy.Random(seed, 0.12, Faults);
            var backup = await coffer.RunAsync(["at", "@faulty", "backup", source], TimeSpan.FromMinutes(2));
            if (backup.ExitCode == 0)
            {
                backedUp++;
            }
            else
            {
                AssertOneLine(backup, $"seed {seed}: backup");
            }

            proxy.Decide = _ => null;
            var check = await coffer.RunAsync(["at", "@direct", "check"], TimeSpan.FromMinutes(2));
            Assert.That(check.ExitCode, Is.Zero, $"seed {seed}: check after a backup through faults\n{check}");
            var ls = await coffer.RunAsync("at", "@direct", "ls");
            Assert.That(ls.Output.Trim().Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(backedUp), $"seed {seed}: every backup reported done is listed, no other\n{ls}");

            if (backedUp == 0)
            {
                continue;
            }

            var target = root.Combine($"restored-{seed}");
            proxy.Decide = FaultProxy.Random(seed + 100, 0.12, Faults);
            var restore = await coffer.RunAsync(["at", "@faulty", "restore", "-to", target, "latest"], TimeSpan.FromMinutes(2));
            proxy.Decide = _ => null;
            if (restore.ExitCode == 0)
            {
                restored++;
                Assert.That(File.ReadAllText(Path.Combine(target, "changing.txt")), Does.StartWith("run "), $"seed {seed}");
                File.Delete(Path.Combine(target, "changing.txt"));
                File.Delete(Path.Combine(source, "changing.txt"));
                TreeAssert.AreEqual(source, target, compareRootMtime: false);
            }
            else
            {
                AssertOneLine(restore, $"seed {seed}: restore");
            }
        }

        TestContext.Out.WriteLine($"{proxy.FaultsInjected} faults in {proxy.Requests} requests; {backedUp} of 4 backups, {restored} restores done");
        Assert.That(proxy.FaultsInjected, Is.GreaterThan(10), "faults were injected");
        Assert.That(backedUp, Is.GreaterThan(0), "retries carry some backups through");
    }

    [Test]
    public async Task Keepstore_on_azure_through_faults_keeps_every_block_it_acknowledged()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        await using var proxy = FaultProxy.Start(azurite.Port);
        var container = await azurite.CreateContainerAsync("keepfaults");
        using var root = new TemporaryDirectory("keep-faults");
        var coffer = KeepstoreProcess.CofferWithPlugins(root);
        var keyFile = KeepTestSecrets.WritePrivateFile(root.Combine("key"), AzuriteServer.AccountKey);
        var tokenFile = KeepTestSecrets.WritePrivateFile(root.Combine("token"), KeepTestSecrets.DataManagerToken);
        await using var keep = await KeepstoreProcess.StartAsync(coffer,
            "-azure-storage-endpoint", $"http://127.0.0.1:{proxy.Port}", "-azure-storage-account-name", AzuriteServer.AccountName,
            "-azure-storage-account-key-file", keyFile, "-azure-storage-container-volume", container.Name, "-data-manager-token-file", tokenFile);

        var random = new Random(5);
        proxy.Decide = FaultProxy.Random(5, 0.15, Faults);
        var acknowledged = new List<(string Locator, byte[] Data)>();
        var refused = 0;
        for (var i = 0; i < 40; i++)
        {
            var block = TreeAssert.Bytes(random, 1 + random.Next(300_000));
            using var response = await keep.PutAsync(KeepstoreProcess.Md5(block), block);
            var body = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode == 200)
            {
                acknowledged.Add((body.Trim(), block));
            }
            else
            {
                refused++;
                Assert.That((int)response.StatusCode, Is.GreaterThanOrEqualTo(500), body);
                Assert.That(body.Trim(), Does.Not.Contain('\n'), "one line");
            }
        }

        // Reads through faults: the right block or an error, never wrong bytes.
        foreach (var (locator, data) in acknowledged)
        {
            var (status, content) = await keep.GetBlockAsync(locator);
            Assert.That(status == 200 ? content : data, SameBytes.As(data), $"GET {locator} through faults answered {status}");
        }

        using (var index = await keep.SendAsync(HttpMethod.Get, "index", KeepTestSecrets.DataManagerToken))
        {
            if ((int)index.StatusCode == 200)
            {
                try
                {
                    var text = await index.Content.ReadAsStringAsync();
                    Assert.That(text, Does.EndWith("\n\n"), "a complete index ends with a blank line");
                    Assert.That(acknowledged.Select(a => a.Locator[..32]), Is.SubsetOf(text.Split('\n').Where(l => l.Length > 32).Select(l => l[..32])));
                }
                catch (HttpRequestException)
                {
                    // An error mid-way drops the connection: the client knows the index is incomplete.
                }
            }
        }

        proxy.Decide = _ => null;
        foreach (var (locator, data) in acknowledged)
        {
            var (status, content) = await keep.GetBlockAsync(locator);
            Assert.That(status, Is.EqualTo(200), $"acknowledged block {locator} is readable\n{keep.Log}");
            Assert.That(content, SameBytes.As(data));
        }

        TestContext.Out.WriteLine($"{proxy.FaultsInjected} faults in {proxy.Requests} requests; {acknowledged.Count} PUTs acknowledged, {refused} refused");
        Assert.That(proxy.FaultsInjected, Is.GreaterThan(5));
        Assert.That(acknowledged, Is.Not.Empty);
    }
}
