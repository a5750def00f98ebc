using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;

namespace Coffer.Plugins.AzBlob;

/// <summary>Creates <see cref="AzBlobStorage"/>s: stores inside an Azure container (or prefix).</summary>
public sealed class AzBlobStorageFactory : IStorageConnectorFactory
{
    private const string ReadOnlyOption = "read_only";

    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Storage,
        AzBlobPlugin.Scheme,
        "a store inside an Azure container (or prefix); the container is created with the store",
        [
            .. AzureConnection.Options,
            .. TransferSettings.Options(forStore: true),
            new(ReadOnlyOption, "open the store read-only: create, put and delete are refused", DefaultValue: "false"),
        ]);

    /// <inheritdoc />
    public ValueTask<IStorageConnector> CreateStorageAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        var (connection, logger) = AzureConnection.Open(configuration);
        var readOnly = configuration.GetBoolean(ReadOnlyOption);
        // No probe: the container may not exist before the store is created; the first call reports credentials.
        return ValueTask.FromResult<IStorageConnector>(new AzBlobStorage(connection, TransferSettings.Read(configuration, forStore: true), readOnly, configuration.Context.Time, logger));
    }
}
