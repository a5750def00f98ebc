using System.Diagnostics;
using Coffer.Host.Tests.Backup;
using Coffer.Host.Tests.Keep;
using Coffer.TestSupport;

namespace Coffer.Host.Tests.Reliability;

/// <summary>
/// SIGKILL at seeded random moments: of <c>backup</c> (then <c>check</c> must pass and the next backup
/// completes), and of <c>keepstore</c> under concurrent PUTs (then every block it answered 200 for is whole
/// and readable from a restarted server).
/// </summary>
public class ProcessKillTests
{
    [Test]
    public async Task A_backup_killed_at_any_moment_leaves_a_store_that_checks_and_takes_the_next_backup()
    {
        using var root = new TemporaryDirectory("kill-backup");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(root);
        var source = root.Combine("source");
        TreeAssert.BuildSample(source, seed: 9);
        var random = new Random(12);
        File.WriteAllBytes(Path.Combine(source, "big.bin"), TreeAssert.Bytes(random, 24 << 20));

        var completed = 0;
        for (var seed = 0; seed < 12; seed++)
        {
            File.WriteAllBytes(Path.Combine(source, $"new-{seed}.bin"), TreeAssert.Bytes(random, 1 << 20));
            var delay = TimeSpan.FromMilliseconds(random.Next(100, 900));
            using (var backup = Process.Start(coffer.StartInfo("at", store, "backup", source))!)
            {
                backup.StandardInput.Close();
                var exited = backup.WaitForExitAsync();
                if (await Task.WhenAny(exited, Task.Delay(delay)) != exited)
                {
                    backup.Kill();
                }

                await backup.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                completed += backup.ExitCode == 0 ? 1 : 0;
            }

            var check = await coffer.RunAsync("at", store, "check");
            Assert.That(check.ExitCode, Is.Zero, $"seed {seed}: check after SIGKILL at {delay.TotalMilliseconds} ms\n{check}");
        }

        var final = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(final.ExitCode, Is.Zero, final.ToString());
        var restored = root.Combine("restored");
        var restore = await coffer.RunAsync("at", store, "restore", "-to", restored, "latest");
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);
        TestContext.Out.WriteLine($"{completed} of 12 backups finished before their SIGKILL");
        Assert.That(completed, Is.LessThan(12), "some backups were killed mid-way");
    }

    [Test]
    public async Task A_keepstore_killed_under_load_keeps_every_block_it_acknowledged()
    {
        using var root = new TemporaryDirectory("kill-keep");
        var coffer = KeepstoreProcess.CofferWithPlugins(root);
        var volumes = new[] { root.Combine("v0"), root.Combine("v1") };
        foreach (var v in volumes)
        {
            Directory.CreateDirectory(v);
        }

        string[] flags = ["-volume", volumes[0], "-volume", volumes[1]];
        var acknowledged = new List<(string Locator, byte[] Data)>();
        for (var seed = 0; seed < 8; seed++)
        {
            var random = new Random(seed);
            var keep = await KeepstoreProcess.StartAsync(coffer, flags);
            var killAt = TimeSpan.FromMilliseconds(random.Next(50, 600));
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                var local = new Random(seed * 10 + w);
                while (!stop.IsCancellationRequested)
                {
                    var block = TreeAssert.Bytes(local, 1 + local.Next(2 << 20));
                    try
                    {
                        using var response = await keep.PutAsync(KeepstoreProcess.Md5(block), block);
                        if ((int)response.StatusCode == 200)
                        {
                            var locator = (await response.Content.ReadAsStringAsync()).Trim();
                            lock (acknowledged)
                            {
                                acknowledged.Add((locator, block));
                            }
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // The server died under this request: it acknowledged nothing.
                        return;
                    }
                }
            })).ToList();

            await Task.Delay(killAt);
            await keep.DisposeAsync(); // SIGKILL
            stop.Cancel();
            await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60));
        }

        foreach (var file in volumes.SelectMany(v => Directory.GetFiles(v, "*", SearchOption.AllDirectories)).Where(f => Path.GetFileName(f).Length == 32))
        {
            Assert.That(KeepstoreProcess.Md5(File.ReadAllBytes(file)), Is.EqualTo(Path.GetFileName(file)), $"{file} is a whole block");
        }

        await using var restarted = await KeepstoreProcess.StartAsync(coffer, flags);
        foreach (var (locator, data) in acknowledged)
        {
            var (status, content) = await restarted.GetBlockAsync(locator);
            Assert.That(status, Is.EqualTo(200), $"acknowledged {locator}");
            Assert.That(content, Is.EqualTo(data), locator);
        }

        TestContext.Out.WriteLine($"{acknowledged.Count} blocks acknowledged across 8 SIGKILLed servers");
        Assert.That(acknowledged, Is.Not.Empty);
    }
}
