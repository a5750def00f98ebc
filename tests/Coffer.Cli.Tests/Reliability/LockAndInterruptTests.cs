using System.Collections.Concurrent;
using System.Diagnostics;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// Commands racing on one store (issue 22 item 4) and Ctrl-C at any moment (item 5): the only failure a
/// race may cause is the lock message, an interrupt is one line and exit 130, and either way no lock is
/// left behind and the store checks clean.
/// </summary>
public class LockAndInterruptTests
{
    private const string LockedMessage = "the store is locked";

    [Test]
    public async Task Parallel_checks_backups_rm_and_maintenance_fail_only_with_the_lock_message_and_leave_a_clean_store()
    {
        using var root = new TemporaryDirectory("hammer");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(root);
        var source = root.Combine("source");
        TreeAssert.BuildSample(source, seed: 4);
        var first = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(first.ExitCode, Is.Zero, first.ToString());

        var unexpected = new ConcurrentBag<string>();
        var succeeded = new ConcurrentDictionary<string, int>();
        var refused = new ConcurrentDictionary<string, int>();
        var stop = Stopwatch.StartNew();
        async Task LoopAsync(string name, Func<int, Task<CofferResult>[]> steps)
        {
            for (var round = 0; stop.Elapsed < TimeSpan.FromSeconds(20); round++)
            {
                foreach (var step in steps(round))
                {
                    var result = await step;
                    var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                    if (result.ExitCode == 0)
                    {
                        succeeded.AddOrUpdate(name, 1, (_, n) => n + 1);
                    }
                    else if (lines is not [var line] || !line.Contains(LockedMessage, StringComparison.Ordinal))
                    {
                        unexpected.Add($"{name}: {result}");
                    }
                    else
                    {
                        refused.AddOrUpdate(name, 1, (_, n) => n + 1);
                    }
                }
            }
        }

        // Each step runs after the one before it: a lambda per step keeps the loop's commands in order.
        Task<CofferResult> Run(params string[] args) => coffer.RunAsync(["at", store, .. args]);
        await Task.WhenAll(
            LoopAsync("check --fast", _ => [Run("check", "--fast")]),
            LoopAsync("backup", round =>
            {
                File.WriteAllText(Path.Combine(source, "changing.txt"), $"round {round}");
                return [Run("backup", source)];
            }),
            LoopAsync("rm+maintenance", _ => [Run("rm", "--keep-last", "3"), Run("maintenance")]),
            LoopAsync("maintenance", _ => [Run("maintenance")]));

        TestContext.Out.WriteLine(string.Join(", ", succeeded.Select(s => $"{s.Key}: {s.Value} ok, {refused.GetValueOrDefault(s.Key)} locked out")));
        Assert.That(unexpected, Is.Empty, "every failure is the lock message");
        Assert.That(succeeded.GetValueOrDefault("backup"), Is.Positive, "backups ran beside the others");
        Assert.That(Directory.GetFiles(Path.Combine(store, "locks")), Is.Empty, "no lock is left");
        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());
    }

    [Test]
    public async Task Ctrl_c_at_any_moment_prints_interrupted_exits_130_and_leaves_no_lock_and_no_partial_snapshot()
    {
        using var root = new TemporaryDirectory("interrupt");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(root);
        var source = root.Combine("source");
        TreeAssert.BuildSample(source, seed: 5);
        var random = new Random(22);
        var snapshots = 0;
        // Very early moments (start-up, opening the store, taking the lock) first, then seeded ones over a run.
        int[] early = [0, 40, 120, 250, 350, 450];
        for (var seed = 0; seed < 14; seed++)
        {
            var delay = seed < early.Length ? early[seed] : random.Next(100, 1200);
            File.WriteAllBytes(Path.Combine(source, $"new-{seed}.bin"), TreeAssert.Bytes(random, 6 << 20));
            string[] command = (seed % 4) switch
            {
                3 => ["check", "--read-data-subset", "100%"],
                2 when snapshots > 0 => ["maintenance"],
                _ => ["backup", source],
            };
            var result = await InterruptAfterAsync(coffer, delay, ["at", store, .. command]);
            var what = $"seed {seed}: {string.Join(' ', command)} interrupted after {delay} ms\n{result}";
            if (result.ExitCode == 0)
            {
                snapshots += command[0] == "backup" ? 1 : 0; // it finished before the signal
            }
            else
            {
                Assert.That(result.ExitCode, Is.EqualTo(130), what);
                // Before the runtime installs its handler a SIGINT ends the process at once, having done nothing.
                Assert.That(result.Error.Trim(), Is.EqualTo("coffer: interrupted").Or.Empty, what);
            }

            Assert.That(Directory.GetFiles(Path.Combine(store, "locks")), Is.Empty, $"no lock is left; {what}");
            Assert.That(Directory.GetFiles(Path.Combine(store, "snapshots")), Has.Length.EqualTo(snapshots), $"only finished backups are recorded; {what}");
            var check = await coffer.RunAsync("at", store, "check");
            Assert.That(check.ExitCode, Is.Zero, $"{what}\n{check}");
        }

        Assert.That(snapshots, Is.LessThan(10), "most backups were interrupted");
    }

    // Sends SIGINT, as Ctrl-C does, after the delay. 'env --default-signal' undoes an ignored SIGINT
    // inherited from a test run started in the background (the runtime would then ignore Ctrl-C too).
    private static async Task<CofferResult> InterruptAfterAsync(CofferProcess coffer, int delayMilliseconds, string[] args)
    {
        var info = coffer.StartInfo(args);
        info.ArgumentList.Insert(0, info.FileName);
        info.ArgumentList.Insert(0, "--default-signal=INT");
        info.FileName = "env";
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExitAsync();
        if (await Task.WhenAny(exited, Task.Delay(delayMilliseconds)) != exited)
        {
            using var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        await exited.WaitAsync(TimeSpan.FromSeconds(60));
        return new CofferResult(process.ExitCode, await output, await error);
    }
}
