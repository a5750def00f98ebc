using Azure.Storage.Blobs;
using Coffer.Abstractions;
using Coffer.Conformance;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>
/// The source/destination conformance suite against Azurite. The root is the prefix <c>root/</c> of a fresh
/// container, so a write that escapes it shows up as a blob outside the prefix.
/// </summary>
[TestFixture]
public sealed class AzBlobSourceDestinationConformanceTests : SourceDestinationConformanceTests
{
    private const string Root = "root";
    private AzuriteServer _server = null!;
    private BlobContainerClient _container = null!;

    // Blob storage is flat: no empty directories, no modes, no directory mtimes. Links are blobs marked as links.
    protected override bool SupportsEmptyDirectories => false;

    protected override bool SupportsModes => false;

    protected override bool SupportsDirectoryMtimes => false;

    // The suite expects sample metadata back on directories too, which exist here only through their blobs:
    // no sample metadata. Blob metadata, content type and tier round trips are AzBlobSourceDestinationTests'.

    protected override async Task CreateBackendAsync()
    {
        _server = await AzBlobHarness.ServerAsync();
        _container = await _server.CreateContainerAsync("tree");
    }

    protected override async Task DeleteBackendAsync() => await _container.DeleteIfExistsAsync();

    protected override async Task<IDestinationConnector> CreateDestinationAsync(ConnectorContext context) =>
        await AzBlobHarness.Catalog.CreateDestinationAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_container, Root), context));

    protected override async Task<ISourceConnector> CreateSourceAsync(ConnectorContext context) =>
        await AzBlobHarness.Catalog.CreateSourceAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_container, Root), context));

    protected override async Task<IReadOnlyList<string>> ListOutsideRootAsync()
    {
        var outside = new List<string>();
        await foreach (var blob in _container.GetBlobsAsync())
        {
            if (!blob.Name.StartsWith(Root + "/", StringComparison.Ordinal))
            {
                outside.Add(blob.Name);
            }
        }

        return outside;
    }
}
