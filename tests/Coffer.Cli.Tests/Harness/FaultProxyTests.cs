using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Harness;

// The fault proxy in front of the real Azurite: it must relay faithfully and inject what it is told.
public class FaultProxyTests
{
    private static BlobServiceClient ThroughProxy(FaultProxy proxy, int retries) =>
        new(proxy.EndpointOf(AzuriteServer.AccountName),
            new Azure.Storage.StorageSharedKeyCredential(AzuriteServer.AccountName, AzuriteServer.AccountKey),
            new BlobClientOptions { Retry = { MaxRetries = retries, Delay = TimeSpan.FromMilliseconds(10), Mode = RetryMode.Fixed } });

    [Test]
    public async Task Without_faults_requests_pass_through_unchanged()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        await using var proxy = FaultProxy.Start(azurite.Port);
        var container = ThroughProxy(proxy, 0).GetBlobContainerClient($"proxy-{Guid.NewGuid():N}");
        await container.CreateAsync();
        var data = new byte[3 * 1024 * 1024];
        new Random(1).NextBytes(data);

        await container.GetBlobClient("b").UploadAsync(new BinaryData(data));
        var back = await container.GetBlobClient("b").DownloadContentAsync();

        Assert.That(back.Value.Content.ToArray(), SameBytes.As(data));
        Assert.That(proxy.Requests, Is.GreaterThanOrEqualTo(3));
        Assert.That(proxy.FaultsInjected, Is.Zero);
    }

    [Test]
    public async Task An_injected_503_reaches_a_client_that_does_not_retry()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        await using var proxy = FaultProxy.Start(azurite.Port);
        proxy.Decide = _ => new Fault.Status(503, RetryAfterSeconds: 1);

        var error = Assert.ThrowsAsync<RequestFailedException>(async () =>
            await ThroughProxy(proxy, 0).GetBlobContainerClient("any").CreateIfNotExistsAsync());

        Assert.That(error!.Status, Is.EqualTo(503));
        Assert.That(proxy.FaultsInjected, Is.EqualTo(1));
    }

    [Test]
    public async Task Resets_and_a_cut_body_are_survived_by_a_retrying_client()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        await using var proxy = FaultProxy.Start(azurite.Port);
        var client = ThroughProxy(proxy, 5);
        var container = client.GetBlobContainerClient($"proxy-{Guid.NewGuid():N}");
        await container.CreateAsync();
        var data = new byte[512 * 1024];
        new Random(2).NextBytes(data);
        await container.GetBlobClient("b").UploadAsync(new BinaryData(data));

        // The next two requests fail (a reset, then a download cut after 1000 body bytes); the third passes.
        var start = proxy.Requests;
        proxy.Decide = r => (r.Number - start) switch { 1 => new Fault.Reset(), 2 => new Fault.CutBody(1000), _ => null };
        var back = await container.GetBlobClient("b").DownloadContentAsync();

        Assert.That(back.Value.Content.ToArray(), SameBytes.As(data));
        Assert.That(proxy.FaultsInjected, Is.EqualTo(2));
    }
}
