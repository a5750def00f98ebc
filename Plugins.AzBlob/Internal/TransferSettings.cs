using Azure.Storage;
using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;
using Coffer.Plumbing;

namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>
/// The cost and speed options of the storage, source and destination connectors: the access tier of what is
/// written, how many requests run at once, and the bytes per second the connector's streams may move.
/// </summary>
internal sealed class TransferSettings
{
    private const string AccessTierOption = "access_tier";
    private const string MaxConcurrencyOption = "max_concurrency";
    private const string UploadLimitOption = "upload_limit";
    private const string DownloadLimitOption = "download_limit";
    private const int BlockSize = 8 * 1024 * 1024;
    private const int DefaultConcurrency = 4;

    private TransferSettings(AccessTier? tier, int concurrency, Throttle? upload, Throttle? download)
    {
        Tier = tier;
        Concurrency = concurrency;
        Upload = upload;
        Download = download;
    }

    /// <summary>No tier, the default concurrency, no limits (for connectors made without options).</summary>
    public static TransferSettings Default { get; } = new(null, DefaultConcurrency, null, null);

    /// <summary>The tier for what is written, or null for the account's default.</summary>
    public AccessTier? Tier { get; }

    /// <summary>Requests in flight for one large transfer.</summary>
    public int Concurrency { get; }

    /// <summary>The limit shared by every upload of the connector, or null.</summary>
    public Throttle? Upload { get; }

    /// <summary>The limit shared by every download of the connector, or null.</summary>
    public Throttle? Download { get; }

    /// <summary>Objects up to one block in one Put Blob; larger ones as blocks committed at once.</summary>
    public StorageTransferOptions TransferOptions => new()
    {
        InitialTransferSize = BlockSize,
        MaximumTransferSize = BlockSize,
        MaximumConcurrency = Concurrency,
    };

    /// <summary>The options, as a connector descriptor lists them.</summary>
    /// <param name="forStore">True for a store (archive is refused there).</param>
    /// <returns>The options.</returns>
    public static IReadOnlyList<ConnectorOption> Options(bool forStore) =>
    [
        new(AccessTierOption, forStore
            ? "access tier of the packfiles written: hot, cool or cold (index, snapshots, keys and locks stay in the account's default tier); archive is refused, as a store must stay readable"
            : "access tier of every blob written: hot, cool, cold or archive (instead of the tier the entry recorded)"),
        new(MaxConcurrencyOption, "parallel requests of one large upload (1–64)", DefaultValue: "4"),
        new(UploadLimitOption, "bytes per second all uploads of this connector share, e.g. 10MiB, 500KiB or 1000000 (none by default)"),
        new(DownloadLimitOption, "bytes per second all downloads of this connector share, e.g. 10MiB (none by default)"),
    ];

    /// <summary>Reads the options.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="forStore">True for a store: archive is refused.</param>
    /// <returns>The settings.</returns>
    /// <exception cref="ConnectorConfigurationException">An option is malformed; the message names it.</exception>
    public static TransferSettings Read(ConnectorConfiguration configuration, bool forStore)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var tier = ParseTier(configuration.GetString(AccessTierOption), forStore);
        var concurrency = configuration.GetInt64(MaxConcurrencyOption, DefaultConcurrency);
        if (concurrency is < 1 or > 64)
        {
            throw new ConnectorConfigurationException($"option '{MaxConcurrencyOption}' must be from 1 to 64, not {concurrency}");
        }

        var time = configuration.Context.Time;
        var upload = ParseRate(configuration.GetString(UploadLimitOption), UploadLimitOption);
        var download = ParseRate(configuration.GetString(DownloadLimitOption), DownloadLimitOption);
        return new TransferSettings(
            tier,
            (int)concurrency,
            upload is { } up ? new Throttle(up, time) : null,
            download is { } down ? new Throttle(down, time) : null);
    }

    /// <summary>The stream to upload: throttled when an upload limit is set.</summary>
    public Stream ForUpload(Stream content) => Upload is null ? content : new ThrottledReadStream(content, Upload);

    /// <summary>The stream to hand out for a download: throttled when a download limit is set.</summary>
    public Stream ForDownload(Stream content) => Download is null ? content : new ThrottledReadStream(content, Download);

    private static AccessTier? ParseTier(string? value, bool forStore)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        switch (value.Trim().ToLowerInvariant())
        {
            case "hot":
                return AccessTier.Hot;
            case "cool":
                return AccessTier.Cool;
            case "cold":
                return AccessTier.Cold;
            case "archive" when forStore:
                throw new ConnectorConfigurationException(
                    $"option '{AccessTierOption}=archive' is refused for a store: archived blobs cannot be read until rehydrated; use hot, cool or cold");
            case "archive":
                return AccessTier.Archive;
            default:
                throw new ConnectorConfigurationException(
                    $"option '{AccessTierOption}' must be hot, cool, cold{(forStore ? string.Empty : " or archive")}, not '{value.Trim()}'");
        }
    }

    private static long? ParseRate(string? value, string option)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return Throttle.TryParseRate(value, out var rate)
            ? rate
            : throw new ConnectorConfigurationException($"option '{option}' must be a positive number of bytes per second such as 10MiB or 500KiB, not '{value.Trim()}'");
    }
}
