using System.Collections.Concurrent;
using Coffer.Connectors;
using Coffer.Packager;

namespace Coffer.TestSupport;

/// <summary>Lays out installed packages by hand, as <c>coffer pkg add</c> would leave them, from a plugin's build output.</summary>
public static class InstalledPlugins
{
    /// <summary>
    /// Installs the build output next to <paramref name="entryDll"/> as package <paramref name="name"/>
    /// under <c>&lt;dataDir&gt;/plugins/&lt;name&gt;/</c>, with a manifest naming the entry assembly and declaring the
    /// connectors the plugin really registers (found by loading it, as <c>coffer pkg build</c> does).
    /// </summary>
    /// <param name="dataDir">The coffer data directory (<c>COFFER_DATA_DIR</c>).</param>
    /// <param name="name">The package name, e.g. <c>posix</c> or <c>azblob</c>.</param>
    /// <param name="entryDll">The plugin's entry assembly in its build output, e.g. <see cref="RepositoryPaths.BundledPluginEntry"/>.</param>
    /// <returns>The package directory.</returns>
    public static string InstallBuildOutput(string dataDir, string name, string entryDll)
    {
        var source = Path.GetDirectoryName(entryDll)!;
        var directory = Path.Combine(new CofferPaths(dataDir, dataDir).PluginsDirectory, name);
        CopyTree(source, directory);
        var manifest = new PackageManifest { Name = name, Version = "1.0.0", Abi = "1.0", Os = "any", Arch = "any", Entry = Path.GetFileName(entryDll), Connectors = Declared(name, entryDll) };
        File.WriteAllBytes(Path.Combine(directory, PackageManifest.FileName), manifest.ToJson());
        return directory;
    }

    private static readonly ConcurrentDictionary<(string, string), IReadOnlyList<ConnectorManifest>> DeclaredCache = new();

    private static IReadOnlyList<ConnectorManifest> Declared(string name, string entryDll) =>
        DeclaredCache.GetOrAdd((name, entryDll), key =>
        {
            using var catalog = ConnectorCatalog.Load([new PluginSource(key.Item1, key.Item2)]);
            return catalog.Connectors.Select(c => ConnectorManifest.From(c.Descriptor)).ToList();
        });

    private static void CopyTree(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(destination, Path.GetFileName(file)), overwrite: true);
        }

        foreach (var directory in Directory.GetDirectories(source))
        {
            CopyTree(directory, Path.Combine(destination, Path.GetFileName(directory)));
        }
    }
}
