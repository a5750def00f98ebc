using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Coffer.Abstractions;

/// <summary>Services the host lends to every connector it creates.</summary>
public sealed class ConnectorContext
{
    /// <summary>A context with the system clock and no logging.</summary>
    public static ConnectorContext Default { get; } = new();

    /// <summary>The clock connectors use for ages, deadlines and mtimes they set; tests substitute their own.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where connectors log. Connectors never log secrets.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
