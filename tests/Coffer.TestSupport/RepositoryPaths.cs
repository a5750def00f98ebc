using System.Reflection;

namespace Coffer.TestSupport;

/// <summary>Where things are in this checkout, as the build recorded them.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = Metadata("CofferRepositoryRoot");

    /// <summary>The build configuration the tests were built in (Debug or Release).</summary>
    public static string Configuration { get; } = Metadata("CofferConfiguration");

    /// <summary>The coffer executable's assembly, built with the solution.</summary>
    public static string CofferDll => Path.Combine(Root, "Host", "Cli", "bin", Configuration, "net10.0", "coffer.dll");

    /// <summary>The entry assembly of a bundled plugin's build output, e.g. <c>Posix</c> or <c>AzBlob</c>.</summary>
    public static string BundledPluginEntry(string plugin) =>
        Path.Combine(Root, $"Plugins.{plugin}", "bin", Configuration, "net10.0", $"Coffer.Plugins.{plugin}.dll");

    /// <summary>The build output directory of a project under tests/.</summary>
    public static string TestProjectOutput(string project) =>
        Path.Combine(Root, "tests", project, "bin", Configuration, "net10.0");

    private static string Metadata(string key) =>
        typeof(RepositoryPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
