using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;
using Microsoft.Extensions.Logging;

namespace Coffer.Plugins.AzBlob;

/// <summary>Creates <see cref="AzBlobDestination"/>s: restore into an Azure container (or prefix).</summary>
public sealed class AzBlobDestinationFactory : IDestinationConnectorFactory
{
    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Destination,
        AzBlobPlugin.Scheme,
        "restore into an Azure container (or prefix), with content types and metadata; empty directories are not kept",
        AzureConnection.Options);

    /// <inheritdoc />
    public async ValueTask<IDestinationConnector> CreateDestinationAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var logger = configuration.Context.LoggerFactory.CreateLogger(Log.Category);
        var connection = AzureConnection.Create(configuration, AzureLocation.Parse(configuration.Path), logger);
        var destination = new AzBlobDestination(connection, logger);
        await destination.EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        return destination;
    }
}
