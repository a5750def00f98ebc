using System.Diagnostics;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

/// <summary>restore's options as a user types them: overwrite policies, --delete, --verify, --dry-run, include/exclude, sparse files.</summary>
public class RestoreOptionsTests
{
    // Each file's inode: a file rewritten through a temp file and a rename gets a new one.
    private static Dictionary<string, long> Inodes(string root) =>
        Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .ToDictionary(f => Path.GetRelativePath(root, f), f => long.Parse(Run("stat", "-c", "%i", f), System.Globalization.CultureInfo.InvariantCulture));

    private static string Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Trim();
    }

    [Test]
    public async Task A_second_restore_rewrites_nothing_and_the_options_overwrite_verify_delete_and_dry_run_do_what_they_say()
    {
        using var temp = new TemporaryDirectory("restore-options");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));
        var target = temp.Combine("target");

        var first = await coffer.RunAsync("at", store, "restore", "latest", "-to", target);
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        TreeAssert.AreEqual(source, target, compareRootMtime: false);
        var inodes = Inodes(target);

        // The default is if-changed: same size and mtime, so nothing is written again.
        var again = await coffer.RunAsync("at", store, "restore", "latest", "-to", target);
        Assert.That(again.Output, Does.Contain("restored 0 files").And.Contain($"({inodes.Count + 3} unchanged, 0 deleted)"), again.ToString());
        Assert.That(Inodes(target), Is.EqualTo(inodes), "a second restore rewrote files");
        TreeAssert.AreEqual(source, target, compareRootMtime: false);

        // A file changed behind the restore's back, same size and mtime: if-changed cannot see it, --verify does.
        var readme = Path.Combine(target, "readme.txt");
        var mtime = File.GetLastWriteTimeUtc(readme);
        File.WriteAllText(readme, "HELLO COFFER\n");
        File.SetLastWriteTimeUtc(readme, mtime);
        var verify = await coffer.RunAsync("at", store, "restore", "latest", "-to", target, "--verify");
        CofferCli.AssertOneLineFailure(verify, "verify failed: 1 restored files differ from snapshot");
        Assert.That(verify.Error, Does.Contain("\"readme.txt\""), verify.ToString());

        // if-newer and never leave a newer file alone; always rewrites everything, and --verify then passes.
        File.SetLastWriteTimeUtc(readme, DateTime.UtcNow);
        foreach (var policy in new[] { "if-newer", "never" })
        {
            var kept = await coffer.RunAsync("at", store, "restore", "latest", "-to", target, "--overwrite", policy);
            Assert.That(kept.ExitCode, Is.Zero, kept.ToString());
            Assert.That(File.ReadAllText(readme), Is.EqualTo("HELLO COFFER\n"), policy);
        }

        var always = await coffer.RunAsync("at", store, "restore", "latest", "-to", target, "--overwrite", "always", "--verify");
        Assert.That(always.Output, Does.Contain($"restored {inodes.Count} files"), always.ToString());
        Assert.That(Inodes(target).Where(i => inodes[i.Key] == i.Value), Is.Empty, "--overwrite always left files in place");
        TreeAssert.AreEqual(source, target, compareRootMtime: false);

        // --delete: what the snapshot lacks goes, only inside the target; --dry-run only says so.
        Directory.CreateDirectory(Path.Combine(target, "junk", "deeper"));
        File.WriteAllText(Path.Combine(target, "junk", "deeper", "x"), "x");
        File.WriteAllText(Path.Combine(target, "stray.txt"), "stray");
        var outside = temp.Combine("outside.txt");
        File.WriteAllText(outside, "not the target's");
        var beforeDryRun = Inodes(target);
        var dryRun = await coffer.RunAsync("at", store, "restore", "latest", "-to", target, "--delete", "--dry-run", "--overwrite", "always");
        Assert.That(dryRun.ExitCode, Is.Zero, dryRun.ToString());
        Assert.That(dryRun.Output, Does.Contain("would delete junk/deeper/x\nwould delete junk/deeper\nwould delete junk\n").And.Contain("would delete stray.txt")
            .And.Contain("would write readme.txt").And.Contain("nothing was changed"), dryRun.ToString());
        Assert.That(File.Exists(Path.Combine(target, "stray.txt")) && File.Exists(Path.Combine(target, "junk", "deeper", "x")), Is.True, "--dry-run deleted");
        Assert.That(Inodes(target), Is.EqualTo(beforeDryRun), "--dry-run wrote files");

        var delete = await coffer.RunAsync("at", store, "restore", "latest", "-to", target, "--delete");
        Assert.That(delete.Output, Does.Contain("4 deleted"), delete.ToString());
        TreeAssert.AreEqual(source, target, compareRootMtime: false);
        Assert.That(File.Exists(outside), Is.True);

        // A bad word is one line, and nothing is restored.
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "restore", "latest", "-to", temp.Combine("none"), "--overwrite", "sometimes"), "--overwrite takes always, if-changed, if-newer, never, not 'sometimes'");
        Assert.That(Directory.Exists(temp.Combine("none")), Is.False);
    }

    [Test]
    public async Task Include_and_exclude_choose_what_is_restored_and_delete_leaves_what_they_leave_out()
    {
        using var temp = new TemporaryDirectory("restore-select");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));
        var target = temp.Combine("target");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "mine.txt"), "not in the snapshot, not selected");
        File.WriteAllText(Path.Combine(target, "old.log"), "not in the snapshot, selected");

        var restore = await coffer.RunAsync("at", store, "restore", "latest", "-to", target, "--include", "docs", "--include", "*.log", "--exclude", "deep", "--delete");

        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        var files = Directory.EnumerateFileSystemEntries(target, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(target, f)).Order(StringComparer.Ordinal);
        Assert.That(files, Is.EqualTo(new[] { "docs", "docs/dangling", "docs/empty", "docs/text.log", "mine.txt" }), restore.ToString());
        Assert.That(File.ReadAllBytes(Path.Combine(target, "docs", "text.log")), SameBytes.As(File.ReadAllBytes(Path.Combine(source, "docs", "text.log"))));
    }

    [Test]
    public async Task A_mostly_zero_file_is_restored_sparse()
    {
        using var temp = new TemporaryDirectory("restore-sparse");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);
        var image = Path.Combine(source, "disk.img");
        using (var file = File.Create(image))
        {
            file.Write("start"u8);
            file.Seek(64L << 20, SeekOrigin.Begin);
            file.Write("end"u8);
        }

        LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));
        var target = temp.Combine("target");
        var restore = await coffer.RunAsync("at", store, "restore", "latest", "-to", target);

        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        var restored = Path.Combine(target, "disk.img");
        Assert.That(new FileInfo(restored).Length, Is.EqualTo(new FileInfo(image).Length));
        Assert.That(long.Parse(Run("stat", "-c", "%b", restored), System.Globalization.CultureInfo.InvariantCulture), Is.LessThan(1024), "512-byte blocks allocated: the zeros were written");
        using var expected = File.OpenRead(image);
        using var actual = File.OpenRead(restored);
        Assert.That(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(actual)), Is.EqualTo(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(expected))));
    }

    [Test]
    public async Task Ctrl_C_during_a_restore_says_interrupted_exits_130_releases_the_lock_and_leaves_no_partial_file()
    {
        using var temp = new TemporaryDirectory("restore-sigint");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        LifecycleCli.BuildTree(source, seed: 5, files: 24, size: 2 << 20);
        LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));

        var interrupted = 0;
        foreach (var seed in new[] { 1, 2, 3, 4 })
        {
            var target = temp.Combine($"target{seed}");
            using var process = Process.Start(coffer.StartInfo("at", store, "restore", "latest", "-to", target))!;
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            // Where the interrupt lands, watched rather than timed from a first whole restore (whose speed says
            // little about the warm later ones): seeds 1 and 2 as soon as the restore holds its lock (opening the
            // index, planning), 3 and 4 once it has written files (final or temporary).
            Func<bool> begun = seed <= 2 ? () => FilesUnder(Path.Combine(store, "locks")) > 0 : () => FilesUnder(target) >= seed - 2;
            while (!process.HasExited && !begun())
            {
                await Task.Delay(1);
            }

            Run("kill", "-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await process.WaitForExitAsync();
            var result = new CofferResult(process.ExitCode, await output, await error);

            if (result.ExitCode == 0)
            {
                TreeAssert.AreEqual(source, target, compareRootMtime: false); // finished before the signal
                continue;
            }

            interrupted++;
            Assert.That(result.ExitCode, Is.EqualTo(130), result.ToString());
            Assert.That(result.Error.Trim(), Is.EqualTo("coffer: interrupted"), result.ToString());
            Assert.That(Directory.GetFiles(Path.Combine(store, "locks")), Is.Empty, $"seed {seed} left its lock\n{result}");
            if (!Directory.Exists(target))
            {
                continue;
            }

            // Every file under its final name is whole; no temp file is left behind.
            foreach (var file in Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(target, file);
                Assert.That(File.ReadAllBytes(file), SameBytes.As(File.ReadAllBytes(Path.Combine(source, relative))), $"seed {seed}: {relative}");
            }
        }

        Assert.That(interrupted, Is.GreaterThan(0), "every restore finished before its interrupt");
        var check = await coffer.RunAsync("at", store, "check", "--fast");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());
    }

    private static int FilesUnder(string directory)
    {
        try
        {
            return Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Count() : 0;
        }
        catch (IOException)
        {
            return 0; // a directory or temporary file changed while it was listed: look again
        }
    }
}
