namespace Coffer.Abstractions;

/// <summary>What a connector factory provides: its kind, scheme and declared options.</summary>
/// <param name="Kind">The connector kind.</param>
/// <param name="Scheme">The location scheme it serves, lower case (e.g. <c>fs</c>, <c>azblob</c>).</param>
/// <param name="Description">One line for help output.</param>
/// <param name="Options">Every option the connector accepts; any other option is refused.</param>
public sealed record ConnectorDescriptor(
    ConnectorKind Kind,
    string Scheme,
    string Description,
    IReadOnlyList<ConnectorOption> Options);
