namespace Coffer.Abstractions;

/// <summary>Declares one <c>key=value</c> option a connector accepts.</summary>
/// <param name="Name">The key, lower case with underscores (e.g. <c>account_key</c>).</param>
/// <param name="Description">One line for help output.</param>
/// <param name="Required">True when the connector cannot be created without it.</param>
/// <param name="Secret">True when the value must never be shown in output, logs or listings.</param>
/// <param name="DefaultValue">The value used when the option is absent, for help output; null when none.</param>
public sealed record ConnectorOption(
    string Name,
    string Description,
    bool Required = false,
    bool Secret = false,
    string? DefaultValue = null);
