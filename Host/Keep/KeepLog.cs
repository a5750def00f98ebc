using Microsoft.Extensions.Logging;

namespace Coffer.Keep;

/// <summary>Log lines every part of the server shares. Paths and messages carry hashes and volume labels, never a secret.</summary>
internal static partial class KeepLog
{
    /// <summary>A volume operation on one block failed; the server goes on with the other volumes.</summary>
    [LoggerMessage(Level = LogLevel.Error, Message = "{Volume}: {Operation} of {Hash} failed: {Reason}")]
    public static partial void VolumeOperationFailed(ILogger logger, string volume, string operation, string hash, string reason);
}
