using Azure.Storage.Blobs;
using Coffer.Abstractions;
using Coffer.Conformance;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>
/// The storage conformance suite against Azurite: at the root of a container that does not exist yet (create
/// makes it), and read-only under a prefix of an existing container.
/// </summary>
[TestFixture("", StorageVariant.Normal)]
[TestFixture("stores/first", StorageVariant.ReadOnly)]
public sealed class AzBlobStorageConformanceTests(string prefix, StorageVariant variant) : StorageConformanceTests(variant)
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

    protected override async Task<IStorageConnector> CreateStorageAsync(bool openReadOnly, ConnectorContext context)
    {
        var options = new Dictionary<string, string> { ["connection_string"] = _server.ConnectionString };
        if (openReadOnly)
        {
            options["read_only"] = "true";
        }

        return await AzBlobHarness.Catalog.CreateStorageAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_container, prefix), context, options));
    }
}
