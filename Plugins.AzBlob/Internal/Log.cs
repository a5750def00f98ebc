using Microsoft.Extensions.Logging;

namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>What the azblob connectors log. Never a secret: locations, block hashes and counts only.</summary>
internal static partial class Log
{
    public const string Category = "Coffer.Plugins.AzBlob";

    [LoggerMessage(Level = LogLevel.Information, Message = "block {Hash} on {Volume} is empty and {Age} old: an upload may be in progress, polling until {Deadline:O}")]
    public static partial void EmptyBlockRace(ILogger logger, string hash, string volume, TimeSpan age, DateTimeOffset deadline);

    [LoggerMessage(Level = LogLevel.Warning, Message = "listing {Location} failed with {Status} {Code}; retrying in {Delay}")]
    public static partial void ListRetry(ILogger logger, string location, int status, string? code, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "block {Hash} on {Volume} has an unreadable expires_at; left in the trash")]
    public static partial void BadExpiry(ILogger logger, string hash, string volume);

    [LoggerMessage(Level = LogLevel.Information, Message = "emptied the trash of {Volume}: deleted {Deleted} blocks ({Bytes} bytes), {Remaining} remain in the trash")]
    public static partial void TrashEmptied(ILogger logger, string volume, int deleted, long bytes, int remaining);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Options} given with connection_string are ignored: the connection string takes precedence")]
    public static partial void IgnoredWithConnectionString(ILogger logger, string options);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}: metadata '{Key}' not restored to {Location}: {Reason}")]
    public static partial void MetadataSkipped(ILogger logger, string path, string key, string location, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the account key file {Path} is open to group or others: chmod 600 {Path}")]
    public static partial void KeyFileOpenToOthers(ILogger logger, string path);
}
