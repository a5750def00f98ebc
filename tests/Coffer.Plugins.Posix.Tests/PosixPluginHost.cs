using Coffer.Connectors;
using Coffer.TestSupport;

namespace Coffer.Plugins.Posix.Tests;

/// <summary>The posix plugin, loaded from its build output through the host's plugin loader, once per test run.</summary>
internal static class PosixPluginHost
{
    private static readonly Lazy<ConnectorCatalog> Loaded = new(() =>
    {
        var catalog = ConnectorCatalog.Load([new PluginSource("posix", RepositoryPaths.BundledPluginEntry("Posix"))]);
        if (catalog.Errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", catalog.Errors));
        }

        return catalog;
    });

    public static ConnectorCatalog Catalog => Loaded.Value;
}
