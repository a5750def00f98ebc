using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;
using Microsoft.Extensions.Logging;

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
        ArgumentNullException.ThrowIfNull(configuration);
        var logger = configuration.Context.LoggerFactory.CreateLogger(Log.Category);
        var connection = AzureConnection.Create(configuration, AzureLocation.Parse(configuration.Path), logger);
        var source = new AzBlobSource(connection, configuration.Context.Time, logger);
        try
        {
            await source.ProbeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return source;
    }
}
