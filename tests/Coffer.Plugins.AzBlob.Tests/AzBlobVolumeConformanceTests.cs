using Azure.Storage.Blobs;
using Coffer.Abstractions;
using Coffer.Conformance;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>
/// The volume conformance suite against Azurite in a fresh container: flat (keepstore's layout) by connection
/// string in every variant, and under a prefix with account name, key and endpoint.
/// </summary>
[TestFixture(VolumeVariant.Normal, "")]
[TestFixture(VolumeVariant.ReadOnly, "")]
[TestFixture(VolumeVariant.Serialized, "")]
[TestFixture(VolumeVariant.Normal, "keep/blocks")]
public sealed class AzBlobVolumeConformanceTests(VolumeVariant variant, string prefix) : VolumeConformanceTests(variant)
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

    protected override async Task<IVolume> CreateVolumeAsync(VolumeSettings settings, ConnectorContext context)
    {
        var options = prefix.Length == 0
            ? new Dictionary<string, string> { ["connection_string"] = _server.ConnectionString }
            : new Dictionary<string, string>
            {
                ["account_name"] = AzuriteServer.AccountName,
                ["account_key"] = AzuriteServer.AccountKey,
                ["endpoint"] = _server.BlobEndpoint.ToString(),
                ["prefix"] = prefix,
            };
        return await AzBlobHarness.Catalog.CreateVolumeAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_container), context, options), settings);
    }

    protected override async Task OverwriteStoredBlockAsync(string hash, ReadOnlyMemory<byte> content) =>
        await _container.GetBlobClient(prefix.Length == 0 ? hash : $"{prefix}/{hash}").UploadAsync(BinaryData.FromBytes(content), overwrite: true);
}
