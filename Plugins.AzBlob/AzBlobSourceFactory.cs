using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;

namespace Coffer.Plugins.AzBlob;

/// <summary>Creates <see cref="AzBlobSource"/>s: back up the blobs of a container or prefix.</summary>
public sealed class AzBlobSourceFactory : ISourceConnectorFactory
{
    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Source,
        AzBlobPlugin.Scheme,
        "the blobs of an Azure container (or prefix) with their metadata, content type and tier",
        [.. AzureConnection.Options, .. TransferSettings.Options(forStore: false).Where(o => o.Name != "access_tier")]);

    /// <inheritdoc />
    public async ValueTask<ISourceConnector> CreateSourceAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        var (connection, logger) = AzureConnection.Open(configuration);
        var transfer = TransferSettings.Read(configuration, forStore: false);
        await BlobListing.ProbeAsync(connection, configuration.Context.Time, logger, cancellationToken).ConfigureAwait(false);
        return new AzBlobSource(connection, transfer, configuration.Context.Time, logger, readsAhead: true);
    }
}
