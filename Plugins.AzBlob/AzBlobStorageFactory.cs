using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;
using Microsoft.Extensions.Logging;

namespace Coffer.Plugins.AzBlob;

/// <summary>Creates <see cref="AzBlobStorage"/>s: stores inside an Azure container (or prefix).</summary>
public sealed class AzBlobStorageFactory : IStorageConnectorFactory
{
    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Storage,
        AzBlobPlugin.Scheme,
        "a store inside an Azure container (or prefix); the container is created with the store",
        AzureConnection.Options);

    /// <inheritdoc />
    public ValueTask<IStorageConnector> CreateStorageAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var logger = configuration.Context.LoggerFactory.CreateLogger(Log.Category);
        var connection = AzureConnection.Create(configuration, AzureLocation.Parse(configuration.Path), logger);
        // No probe: the container may not exist before the store is created; the first call reports credentials.
        return ValueTask.FromResult<IStorageConnector>(new AzBlobStorage(connection, configuration.Context.Time, logger));
    }
}
