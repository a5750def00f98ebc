using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

public class CliTests
{
    [Test]
    public async Task The_default_store_works_unattended_from_create_to_check()
    {
        using var temp = new TemporaryDirectory("cli");
        var coffer = CofferCli.WithPosix(temp);
        coffer.Environment[StartupProfile.Variable] = "1";
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);

        var created = await coffer.RunAsync("create");
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        var passphraseFile = Path.Combine(coffer.ConfigDirectory, "default-store.passphrase");
        Assert.That(File.GetUnixFileMode(passphraseFile), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        var passphrase = File.ReadAllText(passphraseFile).Trim();
        Assert.That(created.Output + created.Error, Does.Not.Contain(passphrase));

        var backup = await coffer.RunAsync("backup", "--tag", "first", source);
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());
        Assert.That(backup.Output, Does.Match("snapshot [0-9a-f]{8} created: 5 files"));
        Assert.That(backup.Error, Is.Empty, "nothing but the result goes to a pipe");

        var list = await coffer.RunAsync("ls");
        Assert.That(list.Output, Does.Contain(source).And.Contain("tags=first"), list.ToString());
        var id = list.Output.Split(' ')[0];

        var ls = await coffer.RunAsync("ls", $"{id[..4]}:docs");
        Assert.That(ls.Output, Does.Contain("docs/text.log").And.Contain("docs/dangling -> ../nowhere/at/all"), ls.ToString());

        var cat = await coffer.RunAsync("cat", "latest:readme.txt");
        Assert.That(cat.Output, Is.EqualTo("hello coffer\n"), cat.ToString());

        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("restore", "-to", restored, "latest");
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);

        var check = await coffer.RunAsync("check");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());
        Assert.That(check.Output, Does.StartWith("check ok: 1 snapshots, 5 files"));
        var fast = await coffer.RunAsync("check", "--fast", id);
        Assert.That(fast.Output, Does.StartWith("check ok: 1 snapshots, 5 files"), fast.ToString());

        var again = await coffer.RunAsync("backup", source);
        Assert.That(again.Output, Does.Contain("(5 files unchanged)"), again.ToString());

        var info = await coffer.RunAsync("info");
        Assert.That(info.Output, Does.Contain("snapshots:   2").And.Contain("dedup ratio: 2.00").And.Contain("aes-256-gcm"), info.ToString());
        var snapshotInfo = await coffer.RunAsync("info", "latest");
        Assert.That(snapshotInfo.Output, Does.Contain("files:       5 (5 unchanged since the parent)"), snapshotInfo.ToString());

        // Commands that open no store start no profile (start-up: they would pay for it, not gain).
        foreach (var cheap in new[] { new[] { "pkg", "list" }, ["--version"] })
        {
            var result = await coffer.RunAsync(cheap);
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
        }

        // Each command recorded its multi-core JIT profile, named by the command alone; the second ls, check, backup
        // and info above replayed theirs and still did their work.
        var profiles = Directory.GetFiles(Path.Combine(coffer.DataDirectory, "jit")).Select(Path.GetFileName);
        Assert.That(profiles, Is.SupersetOf(new[] { "create.profile", "backup.profile", "ls.profile", "cat.profile", "restore.profile", "check.profile", "info.profile" }));
        Assert.That(profiles, Has.All.Match("^[a-z]+\\.(profile|lock)$"));
        Assert.That(profiles, Has.None.Match("^(pkg|other)\\."));
    }

    [Test]
    public async Task A_wrong_passphrase_is_one_clear_line()
    {
        using var temp = new TemporaryDirectory("cli");
        var coffer = CofferCli.WithPosix(temp);
        var store = temp.Combine("store");
        coffer.Environment["COFFER_PASSPHRASE"] = "the right one";
        Assert.That((await coffer.RunAsync("at", store, "create")).ExitCode, Is.Zero);

        coffer.Environment["COFFER_PASSPHRASE"] = "the wrong one";
        var result = await coffer.RunAsync("at", store, "ls");

        CofferCli.AssertOneLineFailure(result, "wrong passphrase");
        Assert.That(result.Error, Does.Not.Contain("the wrong one").And.Not.Contain("the right one"));
    }

    [Test]
    public async Task A_store_that_does_not_exist_is_one_clear_line()
    {
        using var temp = new TemporaryDirectory("cli");
        var coffer = CofferCli.WithPosix(temp);

        var result = await coffer.RunAsync("at", temp.Combine("nothing-here"), "ls");

        CofferCli.AssertOneLineFailure(result, "no store at");
        Assert.That(result.Error, Does.Contain("create"));
    }

    [Test]
    public async Task A_missing_source_is_one_clear_line()
    {
        using var temp = new TemporaryDirectory("cli");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);

        var result = await coffer.RunAsync("at", store, "backup", temp.Combine("no-such-source"));

        CofferCli.AssertOneLineFailure(result, "no-such-source");
    }

    [Test]
    public async Task Create_on_an_existing_store_is_one_clear_line()
    {
        using var temp = new TemporaryDirectory("cli");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);

        var result = await coffer.RunAsync("at", store, "create", "--plaintext");

        CofferCli.AssertOneLineFailure(result, "a store already exists");
    }

    [Test]
    public async Task Named_stores_sources_and_destinations_work_with_at_and_subpaths()
    {
        using var temp = new TemporaryDirectory("cli");
        var coffer = CofferCli.WithPosix(temp);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        Directory.CreateDirectory(temp.Combine("out"));

        Assert.That((await coffer.RunAsync("store", "add", "mine", temp.Combine("store"))).ExitCode, Is.Zero);
        Assert.That((await coffer.RunAsync("source", "add", "src", source)).ExitCode, Is.Zero);
        Assert.That((await coffer.RunAsync("destination", "add", "out", temp.Combine("out"))).ExitCode, Is.Zero);
        var stored = Directory.GetFiles(Path.Combine(coffer.ConfigDirectory, "stores"));
        Assert.That(File.GetUnixFileMode(stored.Single()), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));

        CofferCli.AssertOneLineFailure(await coffer.RunAsync("store", "add", "bad", temp.Combine("x"), "colour=blue"), "unknown option 'colour'");
        Assert.That((await coffer.RunAsync("store", "set", "mine", "read_only=false")).ExitCode, Is.Zero);
        Assert.That((await coffer.RunAsync("store", "show", "mine")).Output, Does.Contain("read_only=false"));
        Assert.That((await coffer.RunAsync("store", "unset", "mine", "read_only")).ExitCode, Is.Zero);

        Assert.That((await coffer.RunAsync("at", "@mine", "create", "--plaintext")).ExitCode, Is.Zero);
        var backup = await coffer.RunAsync("at", "@mine", "backup", "@src:docs");
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());
        var restore = await coffer.RunAsync("at", "@mine", "restore", "-to", "@out:docs-back", "latest");
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        TreeAssert.AreEqual(Path.Combine(source, "docs"), temp.Combine("out", "docs-back"), compareRootMtime: false);

        Assert.That((await coffer.RunAsync("source", "list")).Output, Does.Contain("src"));
        Assert.That((await coffer.RunAsync("source", "rm", "src")).ExitCode, Is.Zero);
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", "@mine", "backup", "@src"), "no source named 'src'");
    }
}
