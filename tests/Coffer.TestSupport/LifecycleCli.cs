using Coffer.TestSupport;
using NUnit.Framework;

namespace Coffer.TestSupport;

/// <summary>Coffer processes for the lifecycle tests: the Posix plugin, and the AzBlob one when a store lives in Azurite.</summary>
internal static class LifecycleCli
{
    /// <summary>A coffer and a plaintext store, on a directory or (as the named store <c>@az</c>) in a fresh Azurite container.</summary>
    public static async Task<(CofferProcess Coffer, string Store)> StoreAsync(TemporaryDirectory temp, bool azure)
    {
        var (coffer, store, _) = await StoreWithContainerAsync(temp, azure);
        return (coffer, store);
    }

    /// <summary>As <see cref="StoreAsync"/>, with the Azurite container the store lives in (null for a directory store), for tests that reach its objects directly.</summary>
    public static async Task<(CofferProcess Coffer, string Store, string? Container)> StoreWithContainerAsync(TemporaryDirectory temp, bool azure)
    {
        if (!azure)
        {
            var (plain, store) = await CofferCli.WithPlaintextStoreAsync(temp);
            return (plain, store, null);
        }

        var coffer = CofferCli.WithPosix(temp);
        CofferCli.InstallBundled(coffer, "AzBlob", "azblob");
        var azurite = await AzuriteServer.GetSharedAsync();
        var container = $"store-{Guid.NewGuid():N}";
        var added = await coffer.RunAsync("store", "add", "az", $"azblob://{container}", $"connection_string={azurite.ConnectionString}");
        Assert.That(added.ExitCode, Is.Zero, added.ToString());
        var created = await coffer.RunAsync("at", "@az", "create", "--plaintext");
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        return (coffer, "@az", container);
    }

    /// <summary>A tree of <paramref name="files"/> random files of <paramref name="size"/> bytes, plus one file every tree of the same <paramref name="shared"/> seed has.</summary>
    public static void BuildTree(string root, int seed, int files, int size, int shared = 0)
    {
        var random = new Random(seed);
        for (var d = 0; d < 4; d++)
        {
            Directory.CreateDirectory(Path.Combine(root, $"d{d}"));
        }

        for (var i = 0; i < files; i++)
        {
            TreeAssert.Write(root, $"d{i % 4}/f{i}.bin", TreeAssert.Bytes(random, size), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        TreeAssert.Write(root, "shared.bin", TreeAssert.Bytes(new Random(1000 + shared), 3 << 20), UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public static string SnapshotId(CofferResult backup)
    {
        var match = System.Text.RegularExpressions.Regex.Match(backup.Output, "snapshot ([0-9a-f]{8}) created");
        Assert.That(match.Success, Is.True, backup.ToString());
        return match.Groups[1].Value;
    }
}
