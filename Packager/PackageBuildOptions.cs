namespace Coffer.Packager;

/// <summary>
/// Loads a published plugin and describes the connectors its entry type registers. The host supplies
/// it: only the host knows how to load plugins.
/// </summary>
/// <param name="packageName">The package name, for messages.</param>
/// <param name="entryAssemblyPath">The published entry assembly.</param>
/// <param name="cancellationToken">Cancels loading.</param>
/// <returns>The connectors, in registration order.</returns>
public delegate Task<IReadOnlyList<ConnectorManifest>> ConnectorDescriber(string packageName, string entryAssemblyPath, CancellationToken cancellationToken);

/// <summary>How <see cref="PackageBuilder"/> builds a package.</summary>
public sealed class PackageBuildOptions
{
    /// <summary>Creates options.</summary>
    /// <param name="describeConnectors">Loads the published plugin and describes its connectors.</param>
    public PackageBuildOptions(ConnectorDescriber describeConnectors)
    {
        ArgumentNullException.ThrowIfNull(describeConnectors);
        DescribeConnectors = describeConnectors;
    }

    /// <summary>Loads the published plugin and describes its connectors.</summary>
    public ConnectorDescriber DescribeConnectors { get; }

    /// <summary>Where the <c>.ptar</c> is written; the current directory by default.</summary>
    public string OutputDirectory { get; init; } = ".";

    /// <summary>The build configuration published; <c>Release</c> by default.</summary>
    public string Configuration { get; init; } = "Release";

    /// <summary>The <c>dotnet</c> executable; found on PATH by default.</summary>
    public string DotnetPath { get; init; } = "dotnet";

    /// <summary>
    /// Assemblies the host provides to every plugin; a package never ships them (they would be ignored,
    /// or worse, confuse type identity). Matches what Host/Connectors/PluginLoadContextFactory shares.
    /// </summary>
    public IReadOnlyCollection<string> HostProvidedAssemblies { get; init; } =
    [
        "Coffer.Abstractions",
        "Microsoft.Extensions.DependencyInjection.Abstractions",
        "Microsoft.Extensions.Logging.Abstractions",
    ];

    /// <summary>Receives one line per step (publishing, describing, writing); nothing when null.</summary>
    public TextWriter? Log { get; init; }
}
