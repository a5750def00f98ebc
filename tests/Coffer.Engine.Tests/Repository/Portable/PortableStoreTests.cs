using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Repository.Portable;

public class PortableStoreTests
{
    [Test]
    public async Task One_snapshot_exports_to_a_ptar_file_that_ls_restore_and_check_read()
    {
        using var temp = new TemporaryDirectory("ptar");
        var coffer = CofferCli.WithPosix(temp);
        coffer.Environment["COFFER_PASSPHRASE"] = "export me";
        var store = temp.Combine("store");
        Assert.That((await coffer.RunAsync("at", store, "create")).ExitCode, Is.Zero);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        var other = temp.Combine("other");
        LifecycleCli.BuildTree(other, seed: 21, files: 4, size: 400_000);
        var wanted = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));
        Assert.That((await coffer.RunAsync("at", store, "backup", other)).ExitCode, Is.Zero);

        var file = temp.Combine("one.ptar");
        var export = await coffer.RunAsync("at", store, "ptar", "-o", file, wanted);
        Assert.That(export.ExitCode, Is.Zero, export.ToString());
        Assert.That(export.Output, Does.Contain($"exported snapshot {wanted} to {file}"));
        Assert.That(File.Exists(file + ".partial"), Is.False);

        var ls = await coffer.RunAsync("at", file, "ls");
        Assert.That(ls.ExitCode, Is.Zero, ls.ToString());
        Assert.That(ls.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1).And.Some.StartsWith(wanted), ls.ToString());
        var check = await coffer.RunAsync("at", file, "check");
        Assert.That(check.Output, Does.StartWith("check ok: 1 snapshots, 5 files"), check.ToString());
        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", file, "restore", "-to", restored, "latest");
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);

        // Still encrypted with the store's key; read-only; a plain tar lists it.
        coffer.Environment["COFFER_PASSPHRASE"] = "not it";
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", file, "ls"), "wrong passphrase");
        coffer.Environment["COFFER_PASSPHRASE"] = "export me";
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", file, "backup", source), "read-only portable store");
        var tar = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("tar", ["-tf", file]) { RedirectStandardOutput = true })!;
        var names = (await tar.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await tar.WaitForExitAsync();
        Assert.That(names[0], Is.EqualTo("CONFIG"));
        Assert.That(names, Does.Contain($"snapshots/{Directory.GetFiles(Path.Combine(store, "snapshots")).Select(Path.GetFileName).Single(n => n!.StartsWith(wanted, StringComparison.Ordinal))}"));

        File.WriteAllText(temp.Combine("junk.ptar"), "not a store");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", temp.Combine("junk.ptar"), "ls"), "is not a coffer portable store");
    }
}
