using Coffer.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace MyConnector;

/// <summary>The plugin's entry point: the host calls it once to register the connector factories.</summary>
public sealed class ConnectorPlugin : ICofferPlugin
{
    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) =>
        services.AddConnectorFactory<StorageConnectorFactory>();
}
