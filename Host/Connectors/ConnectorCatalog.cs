using System.Reflection;
using Coffer.Abstractions;
using Coffer.Packager;
using Microsoft.Extensions.DependencyInjection;

namespace Coffer.Connectors;

/// <summary>
/// Every connector the loaded plugins provide, found by kind and scheme. Plugins register into one
/// service collection; a plugin that fails to load, to register or to construct its factories is
/// reported by name in <see cref="Errors"/> and left out, and the others go on.
/// </summary>
public sealed class ConnectorCatalog : IDisposable
{
    private readonly ServiceProvider _services;

    private ConnectorCatalog(ServiceProvider services, IReadOnlyList<LoadedConnector> connectors, IReadOnlyList<string> errors)
    {
        _services = services;
        Connectors = connectors;
        Errors = errors;
    }

    /// <summary>The connectors, in load order.</summary>
    public IReadOnlyList<LoadedConnector> Connectors { get; }

    /// <summary>One line for each plugin that could not be loaded, naming it.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>Loads every package installed under <paramref name="paths"/>.</summary>
    /// <param name="paths">Where packages are installed.</param>
    /// <returns>The catalog.</returns>
    public static ConnectorCatalog LoadInstalled(CofferPaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var errors = new List<string>();
        var packages = InstalledPackage.List(paths.PluginsDirectory, (name, reason) => errors.Add($"plugin '{name}' not loaded: {reason}"));
        var catalog = Load(packages.Select(p => new PluginSource(p.Manifest.Name, p.EntryAssemblyPath)));
        var undeclared = Undeclared(catalog.Connectors, packages);
        return errors.Count == 0 && undeclared.Count == 0 ? catalog : catalog.Without(undeclared, errors);
    }

    // A package may provide only what its manifest declares: `pkg add` refuses schemes by the manifest,
    // so a connector registered behind its back could shadow another package's scheme.
    private static Dictionary<string, string> Undeclared(IReadOnlyList<LoadedConnector> connectors, IReadOnlyList<InstalledPackage> packages)
    {
        var refused = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var connector in connectors)
        {
            var package = packages.FirstOrDefault(p => p.Manifest.Name == connector.Package);
            var declared = package is not null && package.Manifest.Connectors.Any(c => c.Kind == connector.Descriptor.Kind && c.Scheme == connector.Descriptor.Scheme);
            if (!declared && !refused.ContainsKey(connector.Package))
            {
                var kind = connector.Descriptor.Kind.ToString().ToLowerInvariant();
                refused[connector.Package] = $"plugin '{connector.Package}' not loaded: it registers {kind} '{connector.Descriptor.Scheme}' that its manifest does not declare";
            }
        }

        return refused;
    }

    /// <summary>Loads the given plugins into one service provider.</summary>
    /// <param name="plugins">The plugins.</param>
    /// <returns>The catalog.</returns>
    public static ConnectorCatalog Load(IEnumerable<PluginSource> plugins)
    {
        ArgumentNullException.ThrowIfNull(plugins);
        var services = new ServiceCollection();
        var errors = new List<string>();
        var registered = new List<(PluginSource Plugin, ServiceDescriptor[] Factories)>();

        foreach (var plugin in plugins)
        {
            var before = services.Count;
            try
            {
                var entry = CreateEntry(plugin);
                entry.ConfigureServices(services);
                registered.Add((plugin, services.Skip(before).Where(d => d.ServiceType == typeof(IConnectorFactory)).ToArray()));
            }
#pragma warning disable CA1031 // A plugin may throw anything; it must not take the host down.
            catch (Exception e)
#pragma warning restore CA1031
            {
                // Undo whatever the plugin registered before it failed.
                while (services.Count > before)
                {
                    services.RemoveAt(services.Count - 1);
                }

                errors.Add($"plugin '{plugin.Name}' not loaded: {Describe(e)}");
            }
        }

        var provider = services.BuildServiceProvider();
        var connectors = new List<LoadedConnector>();
        foreach (var (plugin, factories) in registered)
        {
            try
            {
                var created = factories.Select(d => (IConnectorFactory)Instantiate(d, provider)).ToList();
                connectors.AddRange(created.Select(f => new LoadedConnector(f, plugin.Name)));
            }
#pragma warning disable CA1031 // A factory constructor may throw anything.
            catch (Exception e)
#pragma warning restore CA1031
            {
                errors.Add($"plugin '{plugin.Name}' not loaded: {Describe(e)}");
            }
        }

        return new ConnectorCatalog(provider, connectors, errors);
    }

    /// <summary>Finds the factory of a kind for a scheme.</summary>
    /// <typeparam name="TFactory">The factory interface of the kind.</typeparam>
    /// <param name="kind">The kind, for the message.</param>
    /// <param name="scheme">The scheme.</param>
    /// <returns>The factory.</returns>
    /// <exception cref="ConnectorConfigurationException">No loaded package provides it.</exception>
    public TFactory Find<TFactory>(ConnectorKind kind, string scheme)
        where TFactory : IConnectorFactory
    {
        var match = Connectors.FirstOrDefault(c => c.Descriptor.Kind == kind && c.Descriptor.Scheme == scheme && c.Factory is TFactory);
        if (match is null)
        {
            var kindName = kind.ToString().ToLowerInvariant();
            throw new ConnectorConfigurationException(
                $"no installed package provides a {kindName} connector for '{scheme}://': install one with 'coffer pkg add FILE.ptar' (see 'coffer connectors')");
        }

        return (TFactory)match.Factory;
    }

    /// <summary>Creates a storage connector for a location.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The connector.</returns>
    public ValueTask<IStorageConnector> CreateStorageAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default) =>
        Validated<IStorageConnectorFactory>(ConnectorKind.Storage, configuration).CreateStorageAsync(configuration, cancellationToken);

    /// <summary>Creates a source connector for a location.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The connector.</returns>
    public ValueTask<ISourceConnector> CreateSourceAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default) =>
        Validated<ISourceConnectorFactory>(ConnectorKind.Source, configuration).CreateSourceAsync(configuration, cancellationToken);

    /// <summary>Creates a destination connector for a location.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The connector.</returns>
    public ValueTask<IDestinationConnector> CreateDestinationAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default) =>
        Validated<IDestinationConnectorFactory>(ConnectorKind.Destination, configuration).CreateDestinationAsync(configuration, cancellationToken);

    /// <summary>Creates a volume for a location.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="settings">Settings every volume honours.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The volume.</returns>
    public ValueTask<IVolume> CreateVolumeAsync(ConnectorConfiguration configuration, VolumeSettings settings, CancellationToken cancellationToken = default) =>
        Validated<IVolumeFactory>(ConnectorKind.Volume, configuration).CreateVolumeAsync(configuration, settings, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _services.Dispose();

    private TFactory Validated<TFactory>(ConnectorKind kind, ConnectorConfiguration configuration)
        where TFactory : IConnectorFactory
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var factory = Find<TFactory>(kind, configuration.Scheme);
        configuration.Validate(factory.Descriptor);
        return factory;
    }

    private ConnectorCatalog Without(Dictionary<string, string> refused, IEnumerable<string> earlier) =>
        new(_services, Connectors.Where(c => !refused.ContainsKey(c.Package)).ToList(), earlier.Concat(Errors).Concat(refused.Values).ToList());

    private static ICofferPlugin CreateEntry(PluginSource plugin)
    {
        if (!File.Exists(plugin.EntryAssemblyPath))
        {
            throw new FileNotFoundException($"its main assembly {Path.GetFileName(plugin.EntryAssemblyPath)} is missing from {Path.GetDirectoryName(plugin.EntryAssemblyPath)}: reinstall the package");
        }

        var assembly = PluginLoadContextFactory.LoadEntryAssembly(plugin.EntryAssemblyPath);
        var abi = CofferAbi.ReferencedBy(assembly)
            ?? throw new InvalidOperationException($"{assembly.GetName().Name} does not reference Coffer.Abstractions: not a coffer plugin");
        if (!CofferAbi.IsCompatible(abi, CofferAbi.Current))
        {
            throw new InvalidOperationException($"built for contracts ABI {abi}, this coffer provides {CofferAbi.Current}: install a build of the plugin for this coffer");
        }

        var entryTypes = assembly.GetExportedTypes()
            .Where(t => typeof(ICofferPlugin).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
            .ToList();
        if (entryTypes.Count != 1)
        {
            throw new InvalidOperationException($"{assembly.GetName().Name} must have exactly one public ICofferPlugin class, found {entryTypes.Count}");
        }

        return (ICofferPlugin)Activator.CreateInstance(entryTypes[0])!;
    }

    private static object Instantiate(ServiceDescriptor descriptor, IServiceProvider provider) =>
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(provider)
        ?? ActivatorUtilities.CreateInstance(provider, descriptor.ImplementationType!);

    // Reflection wraps what a plugin's constructor throws; the user wants the plugin's own words.
    private static string Describe(Exception e)
    {
        while (e is TargetInvocationException { InnerException: { } inner })
        {
            e = inner;
        }

        var firstLine = e.Message.Split('\n', 2)[0].TrimEnd();
        return e is FileNotFoundException or InvalidOperationException or ConnectorException ? firstLine : $"{e.GetType().Name}: {firstLine}";
    }
}
