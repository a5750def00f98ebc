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
        AzureConnection.Options);

    /// <inheritdoc />
    public async ValueTask<ISourceConnector> CreateSourceAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        var (connection, logger) = AzureConnection.Open(configuration);
        await BlobListing.ProbeAsync(connection, configuration.Context.Time, logger, cancellationToken).ConfigureAwait(false);
        return new AzBlobSource(connection, configuration.Context.Time, logger);
    }
}
