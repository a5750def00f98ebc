using System.Reflection;
using Coffer.Abstractions;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Coffer.Connectors;

/// <summary>
/// The one place that touches McMaster.NETCore.Plugins (dormant upstream): opens a plugin's entry assembly
/// in a load context of its own that shares only the contracts and the Microsoft.Extensions abstractions
/// they expose.
/// </summary>
internal static class PluginLoadContextFactory
{
    // Sharing an assembly also shares what it references, so these bring their dependencies along.
    private static readonly Type[] SharedTypes =
    [
        typeof(ICofferPlugin),
        typeof(IServiceCollection),
        typeof(ILoggerFactory),
    ];

    /// <summary>Loads the entry assembly of a plugin in its own load context.</summary>
    /// <param name="entryAssemblyPath">The plugin's main assembly.</param>
    /// <returns>The loaded assembly.</returns>
    public static Assembly LoadEntryAssembly(string entryAssemblyPath)
    {
        var loader = PluginLoader.CreateFromAssemblyFile(
            entryAssemblyPath,
            SharedTypes,
            config =>
            {
                // Assemblies are read into memory, so a package removed or replaced on disk while
                // this process runs cannot pull files from under it.
                config.LoadInMemory = true;
            });
        return loader.LoadDefaultAssembly();
    }
}
