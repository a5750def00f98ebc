using Azure.Storage.Blobs.Models;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

/// <summary>The azblob cost options and the connection string from the environment, typed as a user would, against Azurite.</summary>
[TestFixture]
public sealed class AzureKnobsTests
{
    [Test]
    public async Task A_store_with_access_tier_cool_writes_cool_packs_refuses_archive_and_takes_the_connection_string_from_the_environment()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        var container = await azurite.CreateContainerAsync("knobs");
        using var temp = new TemporaryDirectory("azure-knobs");
        var coffer = CofferCli.WithPosix(temp);
        CofferCli.InstallBundled(coffer, "AzBlob", "azblob");
        var tree = Path.Combine(temp.Path, "tree");
        LifecycleCli.BuildTree(tree, seed: 17, files: 4, size: 4096);

        var added = await coffer.RunAsync("store", "add", "cool", $"azblob://{container.Name}/cool", $"connection_string={azurite.ConnectionString}", "access_tier=cool");
        Assert.That(added.ExitCode, Is.Zero, added.ToString());
        Assert.That((await coffer.RunAsync("at", "@cool", "create", "--plaintext")).ExitCode, Is.Zero);
        var backup = await coffer.RunAsync("at", "@cool", "backup", tree);
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());
        var tiers = new Dictionary<string, string?>();
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = "cool/" }))
        {
            tiers[blob.Name] = blob.Properties.AccessTier?.ToString();
        }

        Assert.That(tiers.Where(t => t.Key.StartsWith("cool/packfile/", StringComparison.Ordinal)).Select(t => t.Value), Is.Not.Empty.And.All.EqualTo("Cool"));
        Assert.That(tiers.Where(t => t.Key.StartsWith("cool/snapshot/", StringComparison.Ordinal)).Select(t => t.Value), Is.Not.Empty.And.All.EqualTo("Hot"));

        // Archive is refused for a store: one line naming the option, and nothing written.
        var archive = await coffer.RunAsync("store", "add", "archive", $"azblob://{container.Name}/archive", $"connection_string={azurite.ConnectionString}", "access_tier=archive");
        var refused = archive.ExitCode != 0 ? archive : await coffer.RunAsync("at", "@archive", "create", "--plaintext");
        Assert.That(refused.ExitCode, Is.Not.Zero, refused.ToString());
        Assert.That(refused.Error.Trim(), Does.Contain("access_tier=archive").And.Not.Contain("\n").And.Not.Contain(AzuriteServer.AccountKey));
        Assert.That((await container.GetBlobClient("archive/CONFIG").ExistsAsync()).Value, Is.False, "nothing written");

        // No auth option: AZURE_STORAGE_CONNECTION_STRING, as the az CLI.
        coffer.Environment["AZURE_STORAGE_CONNECTION_STRING"] = azurite.ConnectionString;
        var fromEnvironment = await coffer.RunAsync("at", $"azblob://{container.Name}/env", "create", "--plaintext");
        Assert.That(fromEnvironment.ExitCode, Is.Zero, fromEnvironment.ToString());
        Assert.That(fromEnvironment.Output + fromEnvironment.Error, Does.Not.Contain(AzuriteServer.AccountKey));
        Assert.That((await container.GetBlobClient("env/CONFIG").ExistsAsync()).Value, Is.True);
    }
}
