using System.Diagnostics;
using System.Text.RegularExpressions;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Sync;

public class SyncTests
{
    private const string SourcePassphrase = "source-secret-9f1c";
    private const string DestinationPassphrase = "destination-secret-4b2e";

    /// <summary>
    /// Three snapshots of two sources copied through the CLI, between every pair of store kinds: the copies keep
    /// time, host, source and tags and name their origin, the destination checks clean and restores the tree; a
    /// second sync copies nothing; the same tree backed up into a third store syncs in as no new blob.
    /// </summary>
    [TestCase(false, false)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    public async Task Sync_copies_what_the_destination_lacks_and_the_copies_check_and_restore(bool sourceInAzure, bool destinationInAzure)
    {
        using var temp = new TemporaryDirectory("sync");
        var coffer = CofferCli.WithPosix(temp);
        if (sourceInAzure || destinationInAzure)
        {
            CofferCli.InstallBundled(coffer, "AzBlob", "azblob");
        }

        // Both stores encrypted with different passphrases when on disk: the source's comes from COFFER_PASSPHRASE, the destination's from its file.
        coffer.Environment["COFFER_PASSPHRASE"] = SourcePassphrase;
        var destinationPassphraseFile = temp.Combine("destination.passphrase");
        File.WriteAllText(destinationPassphraseFile, DestinationPassphrase + "\n");
        File.SetUnixFileMode(destinationPassphraseFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var source = await CreateStoreAsync(coffer, temp, "src", sourceInAzure, passphraseFile: null);
        var destination = await CreateStoreAsync(coffer, temp, "dst", destinationInAzure, destinationPassphraseFile);
        string[] destinationKey = ["--passphrase-file", destinationPassphraseFile];

        var web = temp.Combine("web");
        var db = temp.Combine("db");
        LifecycleCli.BuildTree(web, seed: 1, files: 8, size: 300_000);
        LifecycleCli.BuildTree(db, seed: 2, files: 4, size: 200_000);
        await BackupAsync(coffer, source, "--tag", "web", web);
        TreeAssert.Write(web, "d1/later.bin", TreeAssert.Bytes(new Random(3), 700_000), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await BackupAsync(coffer, source, "--tag", "web", "--tag", "v2", web);
        await BackupAsync(coffer, source, db);
        var sourceLines = await LsAsync(coffer, source);

        // The destination's passphrase from COFFER_TO_PASSPHRASE here, from --to-passphrase-file below.
        coffer.Environment["COFFER_TO_PASSPHRASE"] = DestinationPassphrase;
        var dry = await coffer.RunAsync("at", source, "sync", "--to", destination, "--dry-run", "--tag", "web");
        coffer.Environment.Remove("COFFER_TO_PASSPHRASE");
        Assert.That(dry.ExitCode, Is.Zero, dry.ToString());
        Assert.That(dry.Output, Does.Contain($"would copy  {sourceLines[0]}").And.Contain($"would copy  {sourceLines[1]}").And.Contain("2 snapshots to copy"), dry.ToString());
        Assert.That(await LsAsync(coffer, destination, destinationKey), Is.Empty, "a dry run copies nothing");

        var synced = await coffer.RunAsync(["at", source, "sync", "--to", destination, "--to-passphrase-file", destinationPassphraseFile]);
        Assert.That(synced.ExitCode, Is.Zero, synced.ToString());
        Assert.That(synced.Output, Does.Contain("3 snapshots copied"), synced.ToString());
        Assert.That(synced.Output + synced.Error, Does.Not.Contain(SourcePassphrase).And.Not.Contain(DestinationPassphrase));

        // Each copy is its original's ls line under a new id, with the original id as its origin.
        var copies = await LsAsync(coffer, destination, destinationKey);
        Assert.That(copies, Has.Count.EqualTo(3));
        for (var i = 0; i < 3; i++)
        {
            var originalId = sourceLines[i][..8];
            Assert.That(copies[i][..8], Is.Not.EqualTo(originalId));
            Assert.That(copies[i][8..], Is.EqualTo($"{sourceLines[i][8..]}  origin={originalId}"), "time, size, files, source and tags are kept");
        }

        var check = await coffer.RunAsync(["at", destination, "check", .. destinationKey]);
        Assert.That(check.Output, Does.StartWith("check ok: 3 snapshots"), check.ToString());
        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync(["at", destination, "restore", "-to", restored, copies[1][..8], .. destinationKey]);
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        TreeAssert.AreEqual(web, restored, compareRootMtime: false);

        // Nothing left to copy: a second sync moves no blob, packs stay as they were.
        var packs = await PacksLineAsync(coffer, destination, destinationKey);
        var again = await coffer.RunAsync(["at", source, "sync", "--to", destination, "--to-passphrase-file", destinationPassphraseFile]);
        Assert.That(again.Output, Does.Contain("nothing to copy"), again.ToString());
        Assert.That(await PacksLineAsync(coffer, destination, destinationKey), Is.EqualTo(packs));

        // The same tree backed up into another store (other keys, other chunk boundaries) syncs in as blobs the destination holds.
        var other = await CreateStoreAsync(coffer, temp, "other", azure: false, passphraseFile: null, plaintext: true);
        await BackupAsync(coffer, other, web);
        var fromOther = await coffer.RunAsync(["at", other, "sync", "--to", destination, "--to-passphrase-file", destinationPassphraseFile]);
        Assert.That(fromOther.Output, Does.Contain("1 snapshots copied").And.Contain(": 0 new blobs, 0 B added"), fromOther.ToString());
        Assert.That(await PacksLineAsync(coffer, destination, destinationKey), Is.EqualTo(packs));

        // A copy of a copy keeps the first origin: syncing the destination back into the source adds only the third store's snapshot.
        coffer.Environment["COFFER_TO_PASSPHRASE"] = SourcePassphrase;
        var back = await coffer.RunAsync(["at", destination, "sync", "--to", source, .. destinationKey, "--dry-run"]);
        Assert.That(back.ExitCode, Is.Zero, back.ToString());
        Assert.That(back.Output, Does.Contain("1 snapshots to copy"), back.ToString());
    }

    [Test]
    public async Task A_sync_killed_mid_upload_leaves_a_clean_destination_and_the_rerun_reuses_its_packs()
    {
        using var temp = new TemporaryDirectory("sync-kill");
        var (coffer, source) = await CofferCli.WithPlaintextStoreAsync(temp);
        var tree = temp.Combine("tree");
        LifecycleCli.BuildTree(tree, seed: 11, files: 80, size: 1 << 20);
        await BackupAsync(coffer, source, tree);

        // What a sync sends into an empty store when nothing is reused.
        var fresh = await CreateStoreAsync(coffer, temp, "fresh", azure: false, passphraseFile: null, plaintext: true);
        Assert.That((await coffer.RunAsync("at", source, "sync", "--to", fresh)).ExitCode, Is.Zero);
        var freshBytes = Packs(fresh).Bytes;

        var destination = await CreateStoreAsync(coffer, temp, "dst", azure: false, passphraseFile: null, plaintext: true);
        using (var process = Process.Start(coffer.StartInfo("at", source, "sync", "--to", destination))!)
        {
            process.StandardInput.Close();
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            while (Packs(destination).Count < 2 && !process.HasExited)
            {
                await Task.Delay(5);
            }

            Assert.That(process.HasExited, Is.False, "the sync ended before two packs were uploaded: make the tree bigger");
            process.Kill(); // SIGKILL: no cleanup, no index object for these packs
            await process.WaitForExitAsync();
        }

        var left = Packs(destination);
        Assert.That(Directory.GetFiles(Path.Combine(destination, "snapshots")), Is.Empty);
        var check = await coffer.RunAsync("at", destination, "check");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());

        var rerun = await coffer.RunAsync("at", source, "sync", "--to", destination);
        Assert.That(rerun.Output, Does.Contain("1 snapshots copied").And.Contain("packs of an interrupted run reused"), rerun.ToString());
        var sent = Packs(destination).Bytes - left.Bytes;
        Assert.That(sent, Is.LessThan(freshBytes - (left.Bytes * 9 / 10)),
            $"the re-run sent {sent} bytes; a fresh sync sends {freshBytes}; the killed one had uploaded {left.Count} packs, {left.Bytes} bytes");

        Assert.That((await coffer.RunAsync("at", destination, "check")).Output, Does.StartWith("check ok: 1 snapshots"));
        var restored = temp.Combine("restored");
        Assert.That((await coffer.RunAsync("at", destination, "restore", "-to", restored, "latest")).ExitCode, Is.Zero);
        TreeAssert.AreEqual(tree, restored, compareRootMtime: false);
    }

    [Test]
    public async Task Bad_input_is_one_line_and_changes_nothing()
    {
        using var temp = new TemporaryDirectory("sync-bad");
        var (coffer, source) = await CofferCli.WithPlaintextStoreAsync(temp);
        var tree = temp.Combine("tree");
        TreeAssert.BuildSample(tree);
        await BackupAsync(coffer, source, tree);
        var destination = await CreateStoreAsync(coffer, temp, "dst", azure: false, passphraseFile: null, plaintext: true);
        coffer.Environment["COFFER_PASSPHRASE"] = SourcePassphrase;
        var encrypted = await CreateStoreAsync(coffer, temp, "encrypted", azure: false, passphraseFile: null);
        coffer.Environment.Remove("COFFER_PASSPHRASE");
        var before = StoreFiles(source, destination, encrypted);
        var missing = temp.Combine("missing");

        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", source, "sync", "--to", destination, "ffffffff"), "no snapshot 'ffffffff'");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", source, "sync", "--to", destination, "--tag", "nightly"), "no snapshot matches --tag nightly");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", source, "sync", "--to", source), "is the source store itself");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", source, "sync", "--to", missing), $"no store at directory store {missing}: create one with 'coffer at {missing} create'");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", source, "sync"), "--to");
        var noKey = await coffer.RunAsync("at", source, "sync", "--to", encrypted);
        CofferCli.AssertOneLineFailure(noKey, "COFFER_TO_PASSPHRASE");
        coffer.Environment["COFFER_TO_PASSPHRASE"] = "not-the-passphrase";
        var wrongKey = await coffer.RunAsync("at", source, "sync", "--to", encrypted);
        Assert.That(wrongKey.ExitCode, Is.Not.Zero, wrongKey.ToString());
        Assert.That(wrongKey.Output + wrongKey.Error, Does.Not.Contain("not-the-passphrase"));

        Assert.That(Directory.Exists(missing), Is.False);
        Assert.That(StoreFiles(source, destination, encrypted), Is.EqualTo(before), "no store changed");
    }

    private static async Task<string> CreateStoreAsync(CofferProcess coffer, TemporaryDirectory temp, string name, bool azure, string? passphraseFile, bool plaintext = false)
    {
        string store;
        if (azure)
        {
            var azurite = await AzuriteServer.GetSharedAsync();
            var added = await coffer.RunAsync("store", "add", name, $"azblob://{name}-{Guid.NewGuid():N}", $"connection_string={azurite.ConnectionString}");
            Assert.That(added.ExitCode, Is.Zero, added.ToString());
            store = $"@{name}";
        }
        else
        {
            store = temp.Combine(name);
        }

        // The Azure stores are plaintext (what is tested there is the storage, not the keys).
        string[] key = plaintext || azure ? ["--plaintext"] : passphraseFile is null ? [] : ["--passphrase-file", passphraseFile];
        var created = await coffer.RunAsync(["at", store, "create", .. key]);
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        return store;
    }

    private static async Task BackupAsync(CofferProcess coffer, string store, params string[] args)
    {
        var backup = await coffer.RunAsync(["at", store, "backup", .. args]);
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());
    }

    private static async Task<List<string>> LsAsync(CofferProcess coffer, string store, params string[] args)
    {
        var ls = await coffer.RunAsync(["at", store, "ls", .. args]);
        Assert.That(ls.ExitCode, Is.Zero, ls.ToString());
        return [.. ls.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static async Task<string> PacksLineAsync(CofferProcess coffer, string store, string[] args)
    {
        var info = await coffer.RunAsync(["at", store, "info", .. args]);
        Assert.That(info.ExitCode, Is.Zero, info.ToString());
        return Regex.Match(info.Output, "^packs:.*$", RegexOptions.Multiline).Value;
    }

    private static (int Count, long Bytes) Packs(string store)
    {
        var files = new DirectoryInfo(Path.Combine(store, "packfiles")).EnumerateFiles("*", SearchOption.AllDirectories)
            .Where(f => f.Name.Length == 64 && f.Name.All(char.IsAsciiHexDigitLower)) // not the temporary file of a pack being written
            .ToList();
        return (files.Count, files.Sum(f => f.Length));
    }

    // Every object of the stores but locks (a command takes and drops its lock).
    private static Dictionary<string, byte[]> StoreFiles(params string[] stores) =>
        stores.SelectMany(store => Directory.GetFiles(store, "*", SearchOption.AllDirectories))
            .Where(p => !p.Contains("/locks/", StringComparison.Ordinal))
            .ToDictionary(p => p, File.ReadAllBytes);
}
