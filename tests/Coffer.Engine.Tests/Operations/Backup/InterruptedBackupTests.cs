using System.Diagnostics;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Backup;

public class InterruptedBackupTests
{
    private static (int Count, long Bytes) Packs(string store)
    {
        var files = new DirectoryInfo(Path.Combine(store, "packfiles")).EnumerateFiles("*", SearchOption.AllDirectories)
            .Where(f => f.Name.Length == 64 && f.Name.All(char.IsAsciiHexDigitLower)) // not the temporary file of a pack being written
            .ToList();
        return (files.Count, files.Sum(f => f.Length));
    }

    [Test]
    public async Task A_backup_killed_mid_upload_leaves_a_clean_store_and_the_rerun_reuses_its_packs()
    {
        using var temp = new TemporaryDirectory("sigkill");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        LifecycleCli.BuildTree(source, seed: 11, files: 80, size: 1 << 20);

        // A fresh backup of the same tree into another store: what a backup sends when nothing is reused.
        var fresh = temp.Combine("fresh");
        Assert.That((await coffer.RunAsync("at", fresh, "create", "--plaintext")).ExitCode, Is.Zero);
        Assert.That((await coffer.RunAsync("at", fresh, "backup", source)).ExitCode, Is.Zero);
        var freshBytes = Packs(fresh).Bytes;

        using (var process = Process.Start(coffer.StartInfo("at", store, "backup", source))!)
        {
            process.StandardInput.Close();
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            while (Packs(store).Count < 2 && !process.HasExited)
            {
                await Task.Delay(5);
            }

            Assert.That(process.HasExited, Is.False, "the backup ended before two packs were uploaded: make the tree bigger");
            process.Kill(); // SIGKILL: no cleanup runs, no index object for these packs
            await process.WaitForExitAsync();
        }

        var left = Packs(store);
        Assert.That(Directory.GetFiles(Path.Combine(store, "snapshots")), Is.Empty);
        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());

        var rerun = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(rerun.ExitCode, Is.Zero, rerun.ToString());
        var sent = Packs(store).Bytes - left.Bytes;
        Assert.That(sent, Is.LessThan(freshBytes - (left.Bytes * 9 / 10)),
            $"the re-run sent {sent} bytes; a fresh backup sends {freshBytes}; the killed one had uploaded {left.Count} packs, {left.Bytes} bytes");

        var after = await coffer.RunAsync("at", store, "check");
        Assert.That(after.Output, Does.StartWith("check ok: 1 snapshots"), after.ToString());
        var restored = temp.Combine("restored");
        Assert.That((await coffer.RunAsync("at", store, "restore", "-to", restored, "latest")).ExitCode, Is.Zero);
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);

        // The killed process's lock is stale (its pid is gone): unlock removes it.
        var unlock = await coffer.RunAsync("at", store, "unlock");
        Assert.That(unlock.Output, Does.Contain("1 locks removed"), unlock.ToString());
    }
}
