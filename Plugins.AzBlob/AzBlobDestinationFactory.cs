using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;

namespace Coffer.Plugins.AzBlob;

/// <summary>Creates <see cref="AzBlobDestination"/>s: restore into an Azure container (or prefix).</summary>
public sealed class AzBlobDestinationFactory : IDestinationConnectorFactory
{
    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Destination,
        AzBlobPlugin.Scheme,
        "restore into an Azure container (or prefix), with content types and metadata; empty directories are not kept",
        [.. AzureConnection.Options, .. TransferSettings.Options(forStore: false)]);

    /// <inheritdoc />
    public async ValueTask<IDestinationConnector> CreateDestinationAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        var (connection, logger) = AzureConnection.Open(configuration);
        var destination = new AzBlobDestination(connection, TransferSettings.Read(configuration, forStore: false), configuration.Context.Time, logger);
        await destination.EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        return destination;
    }
}
