using Coffer.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace Coffer.Plugins.Posix;

/// <summary>
/// The <c>posix</c> package: connectors for the <c>fs</c> scheme (plain paths mean <c>fs</c>) — a
/// keepstore directory volume, and a directory as backup source, store and restore destination.
/// </summary>
public sealed class PosixPlugin : ICofferPlugin
{
    /// <summary>The scheme every connector of this package serves.</summary>
    public const string Scheme = ConnectorConfiguration.FileSystemScheme;

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services) =>
        services
            .AddConnectorFactory<DirectoryVolumeFactory>()
            .AddConnectorFactory<DirectorySourceFactory>()
            .AddConnectorFactory<DirectoryStorageFactory>()
            .AddConnectorFactory<DirectoryDestinationFactory>();
}
