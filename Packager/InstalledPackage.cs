namespace Coffer.Packager;

/// <summary>A package as installed: its manifest and the directory holding its files.</summary>
/// <param name="Manifest">The manifest.</param>
/// <param name="Directory">
/// The directory the package's files are in. For a package installed by <see cref="PackageInstaller"/>
/// this is the version directory the package's link points to, so a process that loaded it keeps
/// resolving its files there even after an upgrade or removal switches the link.
/// </param>
public sealed record InstalledPackage(PackageManifest Manifest, string Directory)
{
    /// <summary>The full path of the entry assembly.</summary>
    public string EntryAssemblyPath => Path.Combine(Directory, Manifest.Entry);

    /// <summary>Who signed the package, as recorded when it was installed; null for a package installed unsigned.</summary>
    /// <returns>The signature, or null.</returns>
    public Signing.PackageSignature? ReadSignature()
    {
        var path = Path.Combine(Directory, Signing.PackageSignature.InstalledFileName);
        return File.Exists(path) ? Signing.PackageSignature.FromLine(File.ReadAllText(path)) : null;
    }

    /// <summary>Writes packages as the JSON array <c>coffer pkg list --json</c> prints: each manifest without its file list, plus its directory.</summary>
    /// <param name="packages">The packages.</param>
    /// <returns>Indented UTF-8 JSON.</returns>
    public static byte[] ToJson(IEnumerable<InstalledPackage> packages)
    {
        ArgumentNullException.ThrowIfNull(packages);
        var listings = packages.Select(p => new PackageListing(
            p.Manifest.Name, p.Manifest.Version, p.Manifest.Description, p.Manifest.License, p.Manifest.Homepage, p.Manifest.Abi,
            p.Manifest.Os, p.Manifest.Arch, p.Manifest.Entry, p.Directory, p.Manifest.Connectors)).ToList();
        return System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(listings, ManifestJsonContext.Default.ListPackageListing);
    }

    /// <summary>
    /// Lists the packages installed under <paramref name="pluginsDirectory"/>: each entry not starting
    /// with '.' that is a directory, or a link to one, holding a manifest. Entries whose manifest cannot
    /// be read are reported through <paramref name="onError"/>.
    /// </summary>
    /// <param name="pluginsDirectory">The plugins directory (<see cref="CofferPaths.PluginsDirectory"/>).</param>
    /// <param name="onError">Receives the entry name and a one-line reason for each unreadable entry.</param>
    /// <returns>The installed packages, ordered by name.</returns>
    public static IReadOnlyList<InstalledPackage> List(string pluginsDirectory, Action<string, string>? onError = null)
    {
        if (!System.IO.Directory.Exists(pluginsDirectory))
        {
            return [];
        }

        var packages = new List<InstalledPackage>();
        foreach (var entry in System.IO.Directory.EnumerateFileSystemEntries(pluginsDirectory))
        {
            var name = Path.GetFileName(entry);
            if (name.StartsWith('.'))
            {
                continue; // the lock, staging and version directories, see PackageInstaller
            }

            try
            {
                var directory = Resolve(entry);
                if (directory is null)
                {
                    continue; // a stray file
                }

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

    // The real directory behind an entry: itself, or where its link finally points.
    private static string? Resolve(string entry)
    {
        var info = new DirectoryInfo(entry);
        if (info.LinkTarget is null)
        {
            return info.Exists ? info.FullName : null;
        }

        var target = info.ResolveLinkTarget(returnFinalTarget: true);
        return target is DirectoryInfo { Exists: true } ? target.FullName
            : throw new DirectoryNotFoundException($"{entry} links to {info.LinkTarget}, which is not a directory");
    }
}
