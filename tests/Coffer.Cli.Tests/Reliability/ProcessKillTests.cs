using System.Diagnostics;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// SIGKILL at seeded random moments: of <c>backup</c> (then <c>check</c> must pass and the next backup
/// completes), of <c>rm</c> and <c>maintenance</c> (then <c>check</c> passes and every snapshot restores),
/// and of <c>keepstore</c> under concurrent PUTs (then every block it answered 200 for is whole
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
    public async Task Rm_and_maintenance_killed_at_any_moment_leave_a_store_that_checks_and_restores_every_snapshot()
    {
        using var root = new TemporaryDirectory("kill-maintenance");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(root);
        var random = new Random(21);
        var (rmKilled, maintenanceKilled, maintenanceTakes) = (0, 0, 700);
        for (var seed = 0; seed < 10; seed++)
        {
            // Trees of one parity share a big file, so removing a snapshot leaves sparse packs to repack as well as unused ones.
            var source = root.Combine($"source-{seed}");
            LifecycleCli.BuildTree(source, seed: 100 + seed, files: 12, size: 400_000, shared: seed % 2);
            var backup = await coffer.RunAsync("at", store, "backup", source);
            Assert.That(backup.ExitCode, Is.Zero, backup.ToString());

            var snapshots = await ListAsync(coffer, store);
            if (snapshots.Count > 2)
            {
                var rmDelay = random.Next(100, 700);
                rmKilled += await RunKilledAfterAsync(coffer, rmDelay, "at", store, "rm", snapshots[0].Id) ? 0 : 1;
                var afterRm = await coffer.RunAsync("at", store, "check");
                Assert.That(afterRm.ExitCode, Is.Zero, $"seed {seed}: check after rm SIGKILLed at {rmDelay} ms\n{afterRm}");
            }

            // Spread the kills over a run's length (learnt from the runs that finished), not over start-up.
            var delay = (int)(maintenanceTakes * (0.3 + (0.7 * random.NextDouble())));
            var clock = Stopwatch.StartNew();
            if (await RunKilledAfterAsync(coffer, delay, "at", store, "maintenance"))
            {
                maintenanceTakes = (int)clock.ElapsedMilliseconds;
            }
            else
            {
                maintenanceKilled++;
            }

            var check = await coffer.RunAsync("at", store, "check");
            Assert.That(check.ExitCode, Is.Zero, $"seed {seed}: check after maintenance SIGKILLed at {delay} ms\n{check}");
        }

        var final = await coffer.RunAsync("at", store, "maintenance");
        Assert.That(final.ExitCode, Is.Zero, $"a maintenance run after the killed ones finishes their work\n{final}");
        var remaining = await ListAsync(coffer, store);
        Assert.That(remaining, Has.Count.InRange(2, 10));
        foreach (var (id, source) in remaining)
        {
            var restored = root.Combine($"restored-{id}");
            var restore = await coffer.RunAsync("at", store, "restore", "-to", restored, id);
            Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
            TreeAssert.AreEqual(source, restored, compareRootMtime: false);
        }

        TestContext.Out.WriteLine($"SIGKILLed before they finished: {rmKilled} of 8 rm runs, {maintenanceKilled} of 10 maintenance runs; {remaining.Count} snapshots restored");
        Assert.That(maintenanceKilled, Is.GreaterThan(0), "some maintenance runs were killed mid-way");
    }

    /// <summary>The snapshots <c>ls</c> lists, oldest first: short id and source path.</summary>
    private static async Task<List<(string Id, string Source)>> ListAsync(CofferProcess coffer, string store)
    {
        var ls = await coffer.RunAsync("at", store, "ls");
        Assert.That(ls.ExitCode, Is.Zero, ls.ToString());
        return [.. ls.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(w => (w[0], w[^1]))];
    }

    /// <summary>Runs coffer and SIGKILLs it after <paramref name="delayMs"/>; true when it finished first (it must have succeeded then).</summary>
    private static async Task<bool> RunKilledAfterAsync(CofferProcess coffer, int delayMs, params string[] args)
    {
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(coffer.StartInfo(args))!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExitAsync();
        var finished = await Task.WhenAny(exited, Task.Delay(delayMs)) == exited;
        if (!finished)
        {
            process.Kill();
        }

        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        TestContext.Out.WriteLine($"{args[2]}: {(finished ? $"finished in {clock.ElapsedMilliseconds} ms" : $"SIGKILLed at {delayMs} ms")}");
        if (finished)
        {
            Assert.That(process.ExitCode, Is.Zero, $"coffer {string.Join(' ', args)} finished before its SIGKILL, and failed:\n{await output}\n{await error}");
        }

        return finished;
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
            Assert.That(content, SameBytes.As(data), locator);
        }

        TestContext.Out.WriteLine($"{acknowledged.Count} blocks acknowledged across 8 SIGKILLed servers");
        Assert.That(acknowledged, Is.Not.Empty);
    }
}
