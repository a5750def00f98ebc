using System.Diagnostics;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// A store is private whatever the umask (issue 22 item 7), can be shared with a group on purpose, and
/// two messages say the right thing (item 9): a location's query string is never echoed, and backing up a
/// file says it is a file.
/// </summary>
public class PrivateStoreTests
{
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = PrivateFile | UnixFileMode.UserExecute;

    [Test]
    public async Task A_store_made_under_a_permissive_umask_is_private_and_one_shared_with_the_group_stays_shared()
    {
        using var root = new TemporaryDirectory("private");
        var coffer = CofferCli.WithPosix(root);
        var store = root.Combine("store");
        var source = root.Combine("source");
        TreeAssert.BuildSample(source, seed: 6);

        Assert.That((await RunWithUmaskAsync(coffer, "000", "at", store, "create", "--plaintext")).ExitCode, Is.Zero);
        var backup = await RunWithUmaskAsync(coffer, "000", "at", store, "backup", source);
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());

        var modes = Modes(store);
        Assert.That(modes.Keys, Has.Some.Contains("packfiles/").And.Some.Contains("index/").And.Some.Contains("snapshots/"));
        Assert.That(modes.Where(m => m.Value != (m.Key.EndsWith('/') ? PrivateDirectory : PrivateFile)), Is.Empty, "everything is 0700/0600");

        // Sharing, as restic: the owner makes the store group-readable; what is added later follows.
        foreach (var (path, mode) in modes)
        {
            File.SetUnixFileMode(path.TrimEnd('/'), mode | UnixFileMode.GroupRead | (path.EndsWith('/') ? UnixFileMode.GroupExecute : 0));
        }

        File.WriteAllText(Path.Combine(source, "added.txt"), "after sharing");
        var shared = await RunWithUmaskAsync(coffer, "000", "at", store, "backup", source);
        Assert.That(shared.ExitCode, Is.Zero, shared.ToString());
        var added = Modes(store).Where(m => !modes.ContainsKey(m.Key)).ToList();
        Assert.That(added, Is.Not.Empty);
        Assert.That(added.Where(m => m.Value != (m.Key.EndsWith('/') ? PrivateDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute : PrivateFile | UnixFileMode.GroupRead)), Is.Empty,
            "new files 0640, new directories 0750, never readable by others");
    }

    [Test]
    public async Task A_location_query_string_is_masked_in_errors_and_backing_up_a_file_says_it_is_a_file()
    {
        using var root = new TemporaryDirectory("messages");
        var coffer = CofferCli.WithPosix(root);
        CofferCli.InstallBundled(coffer, "AzBlob", "azblob");

        var ls = await coffer.RunAsync("at", "azblob://acct/container?sv=2024-01-01&sig=TOPSECRETSIG", "ls");

        CofferCli.AssertOneLineFailure(ls, "azblob://acct/container?sv=…&sig=…");
        Assert.That(ls.Error, Does.Not.Contain("TOPSECRETSIG").And.Not.Contain("2024-01-01"), ls.ToString());

        var (_, store) = await CofferCli.WithPlaintextStoreAsync(root);
        var file = root.Combine("just-a-file.txt");
        File.WriteAllText(file, "content");
        var backup = await coffer.RunAsync("at", store, "backup", file);
        CofferCli.AssertOneLineFailure(backup, $"source '{file}' is a file, not a directory");
    }

    // Every path under the store, directories with a trailing slash, and its mode.
    private static Dictionary<string, UnixFileMode> Modes(string store)
    {
        var modes = new Dictionary<string, UnixFileMode> { [store + "/"] = File.GetUnixFileMode(store) };
        foreach (var entry in new DirectoryInfo(store).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            modes[entry is DirectoryInfo ? entry.FullName + "/" : entry.FullName] = entry.UnixFileMode;
        }

        return modes;
    }

    private static Task<CofferResult> RunWithUmaskAsync(CofferProcess coffer, string umask, params string[] args)
    {
        var info = coffer.StartInfo(args);
        info.ArgumentList.Insert(0, info.FileName);
        info.ArgumentList.Insert(0, "sh");
        info.ArgumentList.Insert(0, $"umask {umask} && exec \"$@\"");
        info.ArgumentList.Insert(0, "-c");
        info.FileName = "sh";
        return CofferProcess.RunAsync(info, $"coffer {string.Join(' ', args)}", TimeSpan.FromMinutes(3));
    }
}
