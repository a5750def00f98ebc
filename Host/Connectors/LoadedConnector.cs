using Coffer.Abstractions;

namespace Coffer.Connectors;

/// <summary>A connector factory and the package it came from.</summary>
/// <param name="Factory">The factory.</param>
/// <param name="Package">The name of the package that registered it.</param>
public sealed record LoadedConnector(IConnectorFactory Factory, string Package)
{
    /// <summary>The factory's descriptor.</summary>
    public ConnectorDescriptor Descriptor => Factory.Descriptor;
}
