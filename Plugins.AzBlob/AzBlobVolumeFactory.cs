using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;

namespace Coffer.Plugins.AzBlob;

/// <summary>Creates <see cref="AzBlobVolume"/>s: keepstore volumes in an Azure Blob container.</summary>
public sealed class AzBlobVolumeFactory : IVolumeFactory
{
    private const string PrefixOption = "prefix";
    private const string ReplicationOption = "replication";

    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Volume,
        AzBlobPlugin.Scheme,
        "keepstore volume in an Azure Blob container: one block blob per block, named by its MD5",
        [
            .. AzureConnection.Options,
            new(PrefixOption, "blob-name prefix for the blocks (default: none, flat in the container as keepstore lays them out)"),
            new(ReplicationOption, "copies Azure keeps of each block, as reported to clients", DefaultValue: "3"),
        ]);

    /// <inheritdoc />
    public async ValueTask<IVolume> CreateVolumeAsync(ConnectorConfiguration configuration, VolumeSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(settings);
        var location = AzureLocation.Parse(configuration.Path);
        if (configuration.GetString(PrefixOption) is { } prefix)
        {
            if (location.Prefix.Length > 0)
            {
                throw new ConnectorConfigurationException($"option '{PrefixOption}' contradicts the prefix in the location {location}: give it in one place");
            }

            location = location with { Prefix = AzureLocation.NormalizePrefix(prefix, $"option '{PrefixOption}'") };
        }

        var replication = configuration.GetInt64(ReplicationOption, 3);
        if (replication is < 1 or > 100)
        {
            throw new ConnectorConfigurationException($"option '{ReplicationOption}' must be between 1 and 100, not {replication}");
        }

        var (connection, logger) = AzureConnection.Open(configuration, location);
        await BlobListing.ProbeAsync(connection, configuration.Context.Time, logger, cancellationToken).ConfigureAwait(false);
        return new AzBlobVolume(connection, settings, (int)replication, configuration.Context.Time, logger);
    }
}
