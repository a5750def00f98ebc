using Azure.Storage.Blobs;
using Coffer.Abstractions;
using Coffer.Conformance;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>The volume conformance suite against Azurite, flat in a fresh container, in every variant.</summary>
[TestFixture(VolumeVariant.Normal)]
[TestFixture(VolumeVariant.ReadOnly)]
[TestFixture(VolumeVariant.Serialized)]
public sealed class AzBlobVolumeConformanceTests(VolumeVariant variant) : VolumeConformanceTests(variant)
{
    private AzuriteServer _server = null!;
    private BlobContainerClient _container = null!;

    // Last-Modified has whole-second precision.
    protected override TimeSpan MtimePrecision => TimeSpan.FromSeconds(2);

    protected override bool ReportsSpace => false;

    protected override async Task CreateBackendAsync()
    {
        _server = await AzBlobHarness.ServerAsync();
        _container = await _server.CreateContainerAsync("vol");
    }

    protected override async Task DeleteBackendAsync() => await _container.DeleteIfExistsAsync();

    protected override async Task<IVolume> CreateVolumeAsync(VolumeSettings settings, ConnectorContext context) =>
        await AzBlobHarness.Catalog.CreateVolumeAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_container), context), settings);

    protected override async Task OverwriteStoredBlockAsync(string hash, ReadOnlyMemory<byte> content) =>
        await _container.GetBlobClient(hash).UploadAsync(BinaryData.FromBytes(content), overwrite: true);
}

/// <summary>The volume conformance suite under a prefix, with account name and key instead of a connection string.</summary>
[TestFixture]
public sealed class AzBlobPrefixedVolumeConformanceTests() : VolumeConformanceTests(VolumeVariant.Normal)
{
    private AzuriteServer _server = null!;
    private BlobContainerClient _container = null!;

    protected override TimeSpan MtimePrecision => TimeSpan.FromSeconds(2);

    protected override bool ReportsSpace => false;

    protected override async Task CreateBackendAsync()
    {
        _server = await AzBlobHarness.ServerAsync();
        _container = await _server.CreateContainerAsync("volp");
    }

    protected override async Task DeleteBackendAsync() => await _container.DeleteIfExistsAsync();

    protected override async Task<IVolume> CreateVolumeAsync(VolumeSettings settings, ConnectorContext context) =>
        await AzBlobHarness.Catalog.CreateVolumeAsync(
            AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_container), context, new Dictionary<string, string>
            {
                ["account_name"] = AzuriteServer.AccountName,
                ["account_key"] = AzuriteServer.AccountKey,
                ["endpoint"] = _server.BlobEndpoint.ToString(),
                ["prefix"] = "keep/blocks",
            }),
            settings);

    protected override async Task OverwriteStoredBlockAsync(string hash, ReadOnlyMemory<byte> content) =>
        await _container.GetBlobClient("keep/blocks/" + hash).UploadAsync(BinaryData.FromBytes(content), overwrite: true);
}
