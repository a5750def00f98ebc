using System.Text.RegularExpressions;
using Coffer.Engine.Repository.Crypto;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

/// <summary><c>coffer key list|add|remove|passwd</c> through the real binary, on a directory and on Azurite.</summary>
public class KeyCommandTests
{
    private static readonly string[] Passphrases = ["first pass phrase", "second pass phrase", "third pass phrase"];

    [OneTimeSetUp]
    public void RegisterSecrets()
    {
        foreach (var passphrase in Passphrases)
        {
            SecretLeaks.Register("a key test passphrase", passphrase);
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Keys_are_listed_added_removed_and_changed_and_a_removed_key_no_longer_opens(bool azure)
    {
        using var temp = new TemporaryDirectory("keys");
        var (coffer, store) = await EncryptedStoreAsync(temp, azure);
        var (first, second, third) = (PassFile(temp, 0), PassFile(temp, 1), PassFile(temp, 2));
        var results = new List<CofferResult>();
        async Task<CofferResult> Run(params string[] args)
        {
            var result = await coffer.RunAsync(["at", store, .. args]);
            results.Add(result);
            return result;
        }

        var source = temp.Combine("source");
        Directory.CreateDirectory(source);
        TreeAssert.Write(source, "a.txt", "kept under every key"u8.ToArray(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.That((await Run("backup", source, "--passphrase-file", first)).ExitCode, Is.Zero);

        var listed = await Run("key", "list", "--passphrase-file", first);
        Assert.That(listed.ExitCode, Is.Zero, listed.ToString());
        var firstId = Ids(listed).Single();
        Assert.That(listed.Output, Does.Contain($"* {firstId}").And.Contain(Environment.MachineName).And.Contain(Environment.UserName).And.Contain("1 key;"));

        var added = await Run("key", "add", "--passphrase-file", first, "--new-passphrase-file", second);
        Assert.That(added.Output, Does.Match("^added key [0-9a-f]{8}\n$"), added.ToString());
        var secondId = added.Output[10..18];
        var bySecond = await Run("key", "list", "--passphrase-file", second);
        Assert.That(Ids(bySecond), Is.EquivalentTo(new[] { firstId, secondId }));
        Assert.That(bySecond.Output, Does.Contain($"* {secondId}").And.Contain($"  {firstId}"), "the key that opened the store is marked");

        CofferCli.AssertOneLineFailure(await Run("key", "remove", firstId, "--passphrase-file", first), $"key {firstId} opened this store");
        CofferCli.AssertOneLineFailure(await Run("key", "remove", "0123456789abcdef", "--passphrase-file", first), "no key '0123456789abcdef' in this store");
        Assert.That(Ids(await Run("key", "list", "--passphrase-file", first)), Has.Count.EqualTo(2), "a refused remove changes nothing");

        var removed = await Run("key", "remove", secondId[..6], "--passphrase-file", first);
        Assert.That(removed.Output, Is.EqualTo($"removed key {secondId}\n"), removed.ToString());
        CofferCli.AssertOneLineFailure(await Run("ls", "--passphrase-file", second), "wrong passphrase");
        CofferCli.AssertOneLineFailure(await Run("key", "remove", firstId, "--passphrase-file", first), $"key {firstId} is the store's last key");

        var changed = await Run("key", "passwd", "--passphrase-file", first, "--new-passphrase-file", third);
        Assert.That(changed.Output, Does.Match($"^changed the passphrase: key [0-9a-f]{{8}} replaces key {firstId}\n$"), changed.ToString());
        CofferCli.AssertOneLineFailure(await Run("ls", "--passphrase-file", first), "wrong passphrase");
        var afterChange = await Run("key", "list", "--passphrase-file", third);
        Assert.That(Ids(afterChange), Has.Count.EqualTo(1).And.Not.Contain(firstId));
        var check = await Run("check", "--passphrase-file", third);
        Assert.That(check.Output, Does.StartWith("check ok: 1 snapshots"), check.ToString());

        foreach (var result in results)
        {
            foreach (var passphrase in Passphrases)
            {
                Assert.That(result.Output + result.Error, Does.Not.Contain(passphrase), $"a passphrase was echoed:\n{result}");
            }
        }
    }

    [Test]
    public async Task Bad_key_references_and_plaintext_stores_are_one_line_refusals_that_change_nothing()
    {
        using var temp = new TemporaryDirectory("keys-bad");
        var (coffer, store) = await EncryptedStoreAsync(temp, azure: false);
        var first = PassFile(temp, 0);

        // Keys until two share a first digit (at most 17): that digit is a prefix matching several.
        var ids = Ids(await coffer.RunAsync("at", store, "key", "list", "--passphrase-file", first));
        while (ids.GroupBy(id => id[0]).All(g => g.Count() == 1))
        {
            var added = await coffer.RunAsync("at", store, "key", "add", "--passphrase-file", first, "--new-passphrase-file", PassFile(temp, 1));
            Assert.That(added.ExitCode, Is.Zero, added.ToString());
            ids = Ids(await coffer.RunAsync("at", store, "key", "list", "--passphrase-file", first));
        }

        var shared = ids.GroupBy(id => id[0]).First(g => g.Count() > 1);
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "key", "remove", shared.Key.ToString(), "--passphrase-file", first), $"key prefix '{shared.Key}' matches {shared.Count()} keys");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "key", "add", "--passphrase-file", first, "--new-passphrase-file", temp.Combine("missing")), "cannot read the passphrase file");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "key", "add", "--passphrase-file", first), "no new passphrase: give --new-passphrase-file FILE");
        Assert.That(Ids(await coffer.RunAsync("at", store, "key", "list", "--passphrase-file", first)), Is.EquivalentTo(ids), "nothing changed");

        using var plainTemp = new TemporaryDirectory("keys-plain");
        var (plainCoffer, plain) = await CofferCli.WithPlaintextStoreAsync(plainTemp);
        foreach (var args in new[] { new[] { "list" }, ["add", "--new-passphrase-file", first], ["remove", "abc"], ["passwd", "--new-passphrase-file", first] })
        {
            CofferCli.AssertOneLineFailure(await plainCoffer.RunAsync(["at", plain, "key", .. args]), "a plaintext store has no keys");
        }
    }

    [Test]
    public async Task A_store_with_its_key_in_config_keeps_working_and_that_key_cannot_be_removed()
    {
        using var temp = new TemporaryDirectory("keys-config");
        var coffer = CofferCli.WithPosix(temp);
        var store = temp.Combine("store");
        var (first, second, third) = (PassFile(temp, 0), PassFile(temp, 1), PassFile(temp, 2));

        // A store as coffer made them before key objects: the wrapped master key in CONFIG, no keys/ folder.
        Environment.SetEnvironmentVariable(StoreKeys.TestKdfVariable, "1");
        var (config, _) = StoreKeys.CreateNew(Passphrases[0], TimeProvider.System, keyInConfig: true);
        Directory.CreateDirectory(store);
        await File.WriteAllBytesAsync(Path.Combine(store, "CONFIG"), config.ToJson());
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);
        TreeAssert.Write(source, "a.txt", "old store"u8.ToArray(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.That((await coffer.RunAsync("at", store, "backup", source, "--passphrase-file", first)).ExitCode, Is.Zero);

        var listed = await coffer.RunAsync("at", store, "key", "list", "--passphrase-file", first);
        Assert.That(listed.Output, Does.Contain($"* {StoreKeyring.ConfigKeyId}").And.Contain("kept in CONFIG (cannot be removed)"), listed.ToString());
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "key", "passwd", "--passphrase-file", first, "--new-passphrase-file", second), "the key in use is the one in CONFIG, which cannot be removed");

        var added = await coffer.RunAsync("at", store, "key", "add", "--passphrase-file", first, "--new-passphrase-file", second);
        Assert.That(added.ExitCode, Is.Zero, added.ToString());
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "key", "remove", "config", "--passphrase-file", second), "the key in CONFIG cannot be removed");
        var changed = await coffer.RunAsync("at", store, "key", "passwd", "--passphrase-file", second, "--new-passphrase-file", third);
        Assert.That(changed.ExitCode, Is.Zero, changed.ToString());

        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "ls", "--passphrase-file", second), "wrong passphrase");
        foreach (var passphrase in new[] { first, third })
        {
            var cat = await coffer.RunAsync("at", store, "cat", "latest:a.txt", "--passphrase-file", passphrase);
            Assert.That(cat.Output, Is.EqualTo("old store"), cat.ToString());
        }
    }

    [Test]
    public async Task Passwd_on_the_default_store_rewrites_its_generated_passphrase_file()
    {
        using var temp = new TemporaryDirectory("keys-default");
        var coffer = CofferCli.WithPosix(temp);
        Assert.That((await coffer.RunAsync("create")).ExitCode, Is.Zero);
        var generatedFile = Path.Combine(coffer.ConfigDirectory, "default-store.passphrase");
        var generated = await File.ReadAllTextAsync(generatedFile);

        var changed = await coffer.RunAsync("key", "passwd", "--new-passphrase-file", PassFile(temp, 2));

        Assert.That(changed.ExitCode, Is.Zero, changed.ToString());
        Assert.That(changed.Error, Is.EqualTo($"coffer: wrote the new passphrase into {generatedFile}\n"));
        Assert.That(await File.ReadAllTextAsync(generatedFile), Is.EqualTo(Passphrases[2] + "\n"));
        Assert.That(File.GetUnixFileMode(generatedFile), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That((await coffer.RunAsync("ls")).ExitCode, Is.Zero, "later runs open the default store with the file");
        var old = temp.Combine("old");
        await File.WriteAllTextAsync(old, generated);
        File.SetUnixFileMode(old, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("ls", "--passphrase-file", old), "wrong passphrase");
    }

    internal static async Task<(CofferProcess Coffer, string Store)> EncryptedStoreAsync(TemporaryDirectory temp, bool azure)
    {
        var coffer = CofferCli.WithPosix(temp);
        var store = temp.Combine("store");
        if (azure)
        {
            CofferCli.InstallBundled(coffer, "AzBlob", "azblob");
            var azurite = await AzuriteServer.GetSharedAsync();
            var named = await coffer.RunAsync("store", "add", "az", $"azblob://keys-{Guid.NewGuid():N}", $"connection_string={azurite.ConnectionString}");
            Assert.That(named.ExitCode, Is.Zero, named.ToString());
            store = "@az";
        }

        var created = await coffer.RunAsync("at", store, "create", "--passphrase-file", PassFile(temp, 0));
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        return (coffer, store);
    }

    internal static string PassFile(TemporaryDirectory temp, int index)
    {
        var path = temp.Combine($"pass{index}");
        if (!File.Exists(path))
        {
            File.WriteAllText(path, Passphrases[index] + "\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return path;
    }

    private static List<string> Ids(CofferResult list) =>
        Regex.Matches(list.Output, @"^[* ] ([0-9a-f]{8}|config)\b", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
}
