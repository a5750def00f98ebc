using System.Reflection;

namespace Coffer.Abstractions;

/// <summary>
/// The version of the contracts a plugin is built against. A host accepts a plugin whose ABI has the
/// same major version and a minor version no newer than its own.
/// </summary>
public static class CofferAbi
{
    /// <summary>The ABI version of this copy of the contracts (the assembly's major.minor).</summary>
    public static Version Current { get; } = Normalize(typeof(CofferAbi).Assembly.GetName().Version);

    /// <summary>Tells whether a plugin built against <paramref name="pluginAbi"/> can run on a host with <paramref name="hostAbi"/>.</summary>
    /// <param name="pluginAbi">The ABI the plugin was built against.</param>
    /// <param name="hostAbi">The ABI the host provides.</param>
    /// <returns>True when the majors match and the plugin's minor is not newer than the host's.</returns>
    public static bool IsCompatible(Version pluginAbi, Version hostAbi)
    {
        ArgumentNullException.ThrowIfNull(pluginAbi);
        ArgumentNullException.ThrowIfNull(hostAbi);
        return pluginAbi.Major == hostAbi.Major && pluginAbi.Minor <= hostAbi.Minor;
    }

    /// <summary>Reads the ABI version an assembly was built against from its reference to the contracts.</summary>
    /// <param name="assembly">A plugin assembly.</param>
    /// <returns>The referenced contracts version, or null when the assembly does not reference them.</returns>
    public static Version? ReferencedBy(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var name = typeof(CofferAbi).Assembly.GetName().Name;
        var reference = assembly.GetReferencedAssemblies().FirstOrDefault(a => a.Name == name);
        return reference?.Version is null ? null : Normalize(reference.Version);
    }

    private static Version Normalize(Version? version) =>
        version is null ? new Version(0, 0) : new Version(version.Major, version.Minor);
}
