namespace Coffer.Packager;

/// <summary>A package as installed: its manifest and the directory holding its files.</summary>
/// <param name="Manifest">The manifest.</param>
/// <param name="Directory">The directory the package's files are in.</param>
public sealed record InstalledPackage(PackageManifest Manifest, string Directory)
{
    /// <summary>The full path of the entry assembly.</summary>
    public string EntryAssemblyPath => Path.Combine(Directory, Manifest.Entry);

    /// <summary>
    /// Lists the packages installed under <paramref name="pluginsDirectory"/>: each subdirectory holding a
    /// manifest. Directories whose manifest cannot be read are reported through <paramref name="onError"/>.
    /// </summary>
    /// <param name="pluginsDirectory">The plugins directory (<see cref="CofferPaths.PluginsDirectory"/>).</param>
    /// <param name="onError">Receives the directory name and a one-line reason for each unreadable entry.</param>
    /// <returns>The installed packages, ordered by name.</returns>
    public static IReadOnlyList<InstalledPackage> List(string pluginsDirectory, Action<string, string>? onError = null)
    {
        if (!System.IO.Directory.Exists(pluginsDirectory))
        {
            return [];
        }

        var packages = new List<InstalledPackage>();
        foreach (var directory in System.IO.Directory.EnumerateDirectories(pluginsDirectory))
        {
            var name = Path.GetFileName(directory);
            if (name.StartsWith('.'))
            {
                continue; // staging and retired copies, see PackageInstaller
            }

            try
            {
                var manifest = PackageManifest.Parse(File.ReadAllBytes(Path.Combine(directory, PackageManifest.FileName)));
                packages.Add(new InstalledPackage(manifest, directory));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
            {
                onError?.Invoke(name, $"unreadable manifest: {e.Message}");
            }
        }

        return packages.OrderBy(p => p.Manifest.Name, StringComparer.Ordinal).ToList();
    }
}
