namespace Coffer.Keep;

/// <summary>One volume named on the command line, with the positional settings in force where it was named.</summary>
/// <param name="Flag">The flag and value that named it, for messages (e.g. <c>-volume /data/disk0</c>).</param>
/// <param name="Location">The connector location: a directory or <c>azblob://CONTAINER</c>.</param>
/// <param name="Options">The connector options. From flags they name files but never hold a secret; from a cluster
/// config they may (an Azure volume's <c>StorageAccountKey</c> becomes the connector's secret <c>account_key</c>), so
/// they are never printed.</param>
/// <param name="ReadOnly">Whether <c>-readonly</c> was in force.</param>
/// <param name="Serialize">Whether <c>-serialize</c> was in force.</param>
/// <param name="Uuid">The mount's id when the configuration names it (a cluster config's volume UUID); null
/// for the flag dialect's <c>zzzzz-ivpuk-</c> and position.</param>
/// <param name="StorageClasses">The storage classes the volume serves; null for keepstore's <c>default</c>.</param>
/// <param name="Replication">The replication the configuration states; null for what the volume reports.</param>
/// <param name="Priority">The highest <c>StorageClasses.CLASS.Priority</c> of the volume's classes (cluster config);
/// mounts of higher priority come first in rendezvous order.</param>
internal sealed record KeepVolumeSpec(
    string Flag,
    string Location,
    IReadOnlyDictionary<string, string> Options,
    bool ReadOnly,
    bool Serialize,
    string? Uuid = null,
    IReadOnlyList<string>? StorageClasses = null,
    int? Replication = null,
    int Priority = 0);

/// <summary>Everything <c>coffer keepstore</c>'s flags say. Defaults are keepstore's.</summary>
internal sealed class KeepstoreOptions
{
    public const string DefaultListen = ":25107";

    public const int DefaultMaxBuffers = 128;

    public List<KeepVolumeSpec> Volumes { get; } = [];

    public string Listen { get; set; } = DefaultListen;

    public string? PermissionKeyFile { get; set; }

    public bool EnforcePermissions { get; set; }

    public TimeSpan BlobSignatureTtl { get; set; } = TimeSpan.FromDays(14);

    public string? DataManagerTokenFile { get; set; }

    public bool NeverDelete { get; set; } = true;

    /// <summary>Zero, keepstore's default, deletes trashed blocks at once.</summary>
    public TimeSpan TrashLifetime { get; set; } = TimeSpan.Zero;

    public TimeSpan TrashCheckInterval { get; set; } = TimeSpan.FromDays(1);

    public int MaxBuffers { get; set; } = DefaultMaxBuffers;

    /// <summary>Zero means twice <see cref="MaxBuffers"/>, as keepstore does.</summary>
    public int MaxRequests { get; set; }

    public string? PidFile { get; set; }

    /// <summary>True when <c>-h</c>/<c>-help</c> was given: print the flags and do nothing else.</summary>
    public bool HelpRequested { get; set; }

    public int EffectiveMaxRequests => MaxRequests > 0 ? MaxRequests : 2 * MaxBuffers;

    /// <summary>True when the options come from an Arvados cluster config (<c>-config</c>), not from flags.</summary>
    public bool FromClusterConfig { get; set; }

    /// <summary>The cluster config's <c>Collections.BlobSigningKey</c> (a secret, never printed); flags use <see cref="PermissionKeyFile"/>.</summary>
    public string? BlobSigningKey { get; set; }

    /// <summary>The cluster config's <c>SystemRootToken</c>, the data manager's token (a secret); flags use <see cref="DataManagerTokenFile"/>.</summary>
    public string? SystemRootToken { get; set; }

    /// <summary>The cluster config's <c>ManagementToken</c> (a secret), for the health and metrics endpoints.</summary>
    public string? ManagementToken { get; set; }
}

/// <summary>The option names the <c>azblob</c> volume connector declares, as keepstore's Azure flags map onto them.</summary>
internal static class AzureVolumeOptions
{
    public const string Scheme = "azblob";
    public const string AccountName = "account_name";
    public const string AccountKeyFile = "account_key_file";
    public const string Endpoint = "endpoint";
    public const string Replication = "replication";
    public const string RequestTimeout = "request_timeout_ms";
    public const string ListAttempts = "list_attempts";
    public const string ListRetryDelay = "list_retry_delay_ms";
    public const string WriteRaceInterval = "write_race_interval_ms";
    public const string WriteRacePoll = "write_race_poll_ms";

    /// <summary>keepstore reports three copies for an Azure container unless told otherwise.</summary>
    public const int DefaultReplication = 3;
}
