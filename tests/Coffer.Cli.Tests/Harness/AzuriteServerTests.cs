using Azure.Storage.Blobs;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Harness;

// Proof that the harness is a real Azure Blob server reached through the real SDK.
public class AzuriteServerTests
{
    [Test]
    public async Task The_shared_Azurite_server_stores_and_returns_a_blob()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        var container = await azurite.CreateContainerAsync("harness");
        var blob = container.GetBlobClient("dir/hello.txt");

        await blob.UploadAsync(BinaryData.FromString("hello from coffer"));
        var downloaded = await blob.DownloadContentAsync();

        Assert.That(downloaded.Value.Content.ToString(), Is.EqualTo("hello from coffer"));
        Assert.That(azurite.BlobEndpoint.Host, Is.EqualTo("127.0.0.1"));
    }

    [Test]
    public async Task The_second_account_is_separate_from_the_first()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        var second = new BlobServiceClient(azurite.ConnectionStringOf(AzuriteServer.SecondAccountName, AzuriteServer.SecondAccountKey));
        var container = await azurite.CreateContainerAsync("second", second);

        var inFirst = azurite.CreateServiceClient().GetBlobContainerClient(container.Name);

        Assert.That((await inFirst.ExistsAsync()).Value, Is.False);
        Assert.That((await container.ExistsAsync()).Value, Is.True);
    }
}
