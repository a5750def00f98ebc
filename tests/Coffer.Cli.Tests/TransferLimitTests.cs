using System.Text.Json;
using Coffer.Cli;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

/// <summary>
/// The global <c>--limit-upload</c> / <c>--limit-download</c> through the CLI on a directory store (docs/backup.md):
/// the rate each run achieves, measured as bytes over the seconds coffer's status lines report, never exceeds the limit by
/// more than 15%, and is at least half of it (a limiter that throttles far below its rate; the bound is loose because the
/// machine's load slows the limited run as well, and the suite runs two test assemblies at once).
/// Each limited run is timed against the same run unlimited, so that the work that is not transfer is not counted against it.
/// </summary>
public class TransferLimitTests
{
    private const int Limit = 2 << 20;
    private const int Content = 6 << 20;

    [Test]
    public async Task Upload_and_download_limits_hold_the_rate_at_most_15_percent_over_and_a_bad_rate_is_a_usage_error()
    {
        using var temp = new TemporaryDirectory("transfer-limits");
        var coffer = CofferCli.WithPosix(temp);
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);
        // Random content: nothing compresses or deduplicates, so the store receives what the file holds.
        File.WriteAllBytes(Path.Combine(source, "random.bin"), TreeAssert.Bytes(new Random(17), Content));
        string free = temp.Combine("free"), limited = temp.Combine("limited");
        foreach (var store in new[] { free, limited })
        {
            Ok(await coffer.RunAsync("at", store, "create", "--plaintext"));
        }

        var freeBackup = await SecondsAsync(coffer, "at", free, "backup", source, "--json");
        var before = StoreBytes(limited);
        var limitedBackup = await SecondsAsync(coffer, "--limit-upload", "2MiB", "at", limited, "backup", source, "--json");
        AssertRate("upload", StoreBytes(limited) - before, freeBackup, limitedBackup);

        var freeRestore = await SecondsAsync(coffer, "at", free, "restore", "--to", temp.Combine("free-restore"), "--json");
        var limitedRestore = await SecondsAsync(coffer, "at", limited, "restore", "--to", temp.Combine("limited-restore"), "--limit-download=2048K", "--json");
        Assert.That(File.ReadAllBytes(Path.Combine(temp.Combine("limited-restore"), "random.bin")), Has.Length.EqualTo(Content));
        // The restore reads the packs (and the small index, tree and snapshot objects).
        AssertRate("download", StoreBytes(limited), freeRestore, limitedRestore);

        var bad = await coffer.RunAsync("at", limited, "ls", "--limit-upload", "fast");
        Assert.That(bad.ExitCode, Is.EqualTo(ExitCodes.Usage), bad.ToString());
        CofferCli.AssertOneLineFailure(bad, "--limit-upload 'fast' is not a rate");
    }

    // Never more than 15% faster than the limit (all of the limited run's time counted), nor slower than half of it (only the time it took beyond the unlimited run).
    private static void AssertRate(string direction, long bytes, double unlimitedSeconds, double limitedSeconds)
    {
        Assert.That(bytes, Is.GreaterThan(Content), $"{direction}: the store objects moved");
        var message = $"{direction}: {bytes} bytes in {limitedSeconds:0.00}s limited, {unlimitedSeconds:0.00}s unlimited";
        Assert.That(bytes / limitedSeconds, Is.LessThanOrEqualTo(Limit * 1.15), message);
        Assert.That(bytes / (limitedSeconds - unlimitedSeconds), Is.GreaterThanOrEqualTo(Limit * 0.5), message);
    }

    // The seconds the work took inside coffer (its last status line), without the process's start-up and the store's opening.
    private static async Task<double> SecondsAsync(CofferProcess coffer, params string[] args)
    {
        var result = Ok(await coffer.RunAsync(args));
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
        return lines.Last(l => l.GetProperty("message_type").GetString() == "status").GetProperty("seconds_elapsed").GetDouble();
    }

    private static long StoreBytes(string store) => new DirectoryInfo(store).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    private static CofferResult Ok(CofferResult result)
    {
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return result;
    }
}
