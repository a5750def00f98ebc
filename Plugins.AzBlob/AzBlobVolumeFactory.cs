using Coffer.Abstractions;
using Coffer.Plugins.AzBlob.Internal;

namespace Coffer.Plugins.AzBlob;

/// <summary>Creates <see cref="AzBlobVolume"/>s: keepstore volumes in an Azure Blob container.</summary>
public sealed class AzBlobVolumeFactory : IVolumeFactory
{
    private const string PrefixOption = "prefix";
    private const string ReplicationOption = "replication";
    private const string RequestTimeoutOption = "request_timeout_ms";
    private const string ListAttemptsOption = "list_attempts";
    private const string ListRetryDelayOption = "list_retry_delay_ms";
    private const string WriteRaceIntervalOption = "write_race_interval_ms";
    private const string WriteRacePollOption = "write_race_poll_ms";

    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Volume,
        AzBlobPlugin.Scheme,
        "keepstore volume in an Azure Blob container: one block blob per block, named by its MD5",
        [
            .. AzureConnection.Options,
            new(PrefixOption, "blob-name prefix for the blocks (default: none, flat in the container as keepstore lays them out)"),
            new(ReplicationOption, "copies Azure keeps of each block, as reported to clients", DefaultValue: "3"),
            new(RequestTimeoutOption, "how long one try of an Azure request may take, in milliseconds (keepstore's RequestTimeout)", DefaultValue: "120000"),
            new(ListAttemptsOption, "tries of a listing page that fails with 503 Server Busy and the like (keepstore's ListBlobsMaxAttempts)", DefaultValue: "5"),
            new(ListRetryDelayOption, "wait between those tries, in milliseconds (keepstore's ListBlobsRetryDelay); default: 500, doubling", DefaultValue: "500"),
            new(WriteRaceIntervalOption, "how long an empty blob may still be another writer's upload in progress, in milliseconds (keepstore's WriteRaceInterval)", DefaultValue: "15000"),
            new(WriteRacePollOption, "how often such a blob is looked at again, in milliseconds (keepstore's WriteRacePollTime)", DefaultValue: "1000"),
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

        var listAttempts = configuration.GetString(ListAttemptsOption) is null ? (int?)null : (int)Positive(configuration, ListAttemptsOption, 1000);
        var listDelay = Milliseconds(configuration, ListRetryDelayOption);
        var tuning = new AzBlobVolumeTuning(
            Milliseconds(configuration, WriteRaceIntervalOption),
            Milliseconds(configuration, WriteRacePollOption),
            listAttempts is null && listDelay is null ? null : new ListRetry(listAttempts ?? 5, listDelay ?? TimeSpan.FromMilliseconds(500)));
        var (connection, logger) = AzureConnection.Open(configuration, location, Milliseconds(configuration, RequestTimeoutOption));
        await BlobListing.ProbeAsync(connection, configuration.Context.Time, logger, cancellationToken).ConfigureAwait(false);
        return new AzBlobVolume(connection, settings, (int)replication, configuration.Context.Time, logger, tuning);
    }

    private static TimeSpan? Milliseconds(ConnectorConfiguration configuration, string option) =>
        configuration.GetString(option) is null ? null : TimeSpan.FromMilliseconds(Positive(configuration, option, int.MaxValue));

    private static long Positive(ConnectorConfiguration configuration, string option, long maximum)
    {
        var value = configuration.GetInt64(option, 0);
        return value is >= 1 && value <= maximum
            ? value
            : throw new ConnectorConfigurationException($"option '{option}' must be a whole number from 1 to {maximum}, not {value}");
    }
}
