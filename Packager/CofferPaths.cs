namespace Coffer.Packager;

/// <summary>
/// Where coffer keeps its files, following the XDG base directories. Each can be moved with an
/// environment variable, which is how tests get a private tree.
/// </summary>
public sealed class CofferPaths
{
    /// <summary>Overrides the data directory (installed packages, the default store).</summary>
    public const string DataDirVariable = "COFFER_DATA_DIR";

    /// <summary>Overrides the configuration directory (named stores, sources, destinations).</summary>
    public const string ConfigDirVariable = "COFFER_CONFIG_DIR";

    /// <summary>Overrides the cache directory (the index cache of each store).</summary>
    public const string CacheDirVariable = "COFFER_CACHE_DIR";

    /// <summary>Creates paths rooted at explicit directories; the cache goes to <c>cache</c> in the data directory.</summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <param name="configDirectory">The configuration directory.</param>
    public CofferPaths(string dataDirectory, string configDirectory)
        : this(dataDirectory, configDirectory, Path.Combine(dataDirectory, "cache"))
    {
    }

    /// <summary>Creates paths rooted at explicit directories.</summary>
    /// <param name="dataDirectory">The data directory.</param>
    /// <param name="configDirectory">The configuration directory.</param>
    /// <param name="cacheDirectory">The cache directory.</param>
    public CofferPaths(string dataDirectory, string configDirectory, string cacheDirectory)
    {
        DataDirectory = dataDirectory;
        ConfigDirectory = configDirectory;
        CacheDirectory = cacheDirectory;
    }

    /// <summary>The data directory: <c>$COFFER_DATA_DIR</c>, else <c>$XDG_DATA_HOME/coffer</c>, else <c>~/.local/share/coffer</c>.</summary>
    public string DataDirectory { get; }

    /// <summary>The configuration directory: <c>$COFFER_CONFIG_DIR</c>, else <c>$XDG_CONFIG_HOME/coffer</c>, else <c>~/.config/coffer</c>.</summary>
    public string ConfigDirectory { get; }

    /// <summary>
    /// The cache directory: <c>$COFFER_CACHE_DIR</c>, else <c>$XDG_CACHE_HOME/coffer</c>, else <c>~/.cache/coffer</c>.
    /// Everything in it can be rebuilt from the stores.
    /// </summary>
    public string CacheDirectory { get; }

    /// <summary>Where installed packages live, one directory each.</summary>
    public string PluginsDirectory => Path.Combine(DataDirectory, "plugins");

    /// <summary>The paths this process's environment gives.</summary>
    /// <returns>The resolved paths.</returns>
    public static CofferPaths FromEnvironment()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new CofferPaths(
            Resolve(DataDirVariable, "XDG_DATA_HOME", Path.Combine(home, ".local", "share")),
            Resolve(ConfigDirVariable, "XDG_CONFIG_HOME", Path.Combine(home, ".config")),
            Resolve(CacheDirVariable, "XDG_CACHE_HOME", Path.Combine(home, ".cache")));
    }

    private static string Resolve(string ownVariable, string xdgVariable, string fallbackBase)
    {
        var own = Environment.GetEnvironmentVariable(ownVariable);
        if (!string.IsNullOrEmpty(own))
        {
            return Path.GetFullPath(own);
        }

        // The XDG spec says relative values are invalid and must be ignored.
        var xdg = Environment.GetEnvironmentVariable(xdgVariable);
        var baseDirectory = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg) ? xdg : fallbackBase;
        return Path.Combine(baseDirectory, "coffer");
    }
}
