using Azure.Storage.Blobs;
using Coffer.Abstractions;
using Coffer.Conformance;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>
/// The storage conformance suite against Azurite: at the root of a container that does not exist yet (create
/// makes it), and under a prefix of an existing container.
/// </summary>
[TestFixture("")]
[TestFixture("stores/first")]
public sealed class AzBlobStorageConformanceTests(string prefix) : StorageConformanceTests
{
    private AzuriteServer _server = null!;
    private BlobContainerClient _container = null!;

    protected override async Task CreateBackendAsync()
    {
        _server = await AzBlobHarness.ServerAsync();
        var service = _server.CreateServiceClient();
        _container = service.GetBlobContainerClient($"store-{Guid.NewGuid():N}");
        if (prefix.Length > 0)
        {
            await _container.CreateAsync();
        }
    }

    protected override async Task DeleteBackendAsync() => await _container.DeleteIfExistsAsync();

    protected override async Task<IStorageConnector> CreateStorageAsync(ConnectorContext context) =>
        await AzBlobHarness.Catalog.CreateStorageAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_container, prefix), context));
}
