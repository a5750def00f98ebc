using System.Reflection;
using Coffer.Abstractions;
using Coffer.Packager;
using Microsoft.Extensions.DependencyInjection;

namespace Coffer.Connectors;

/// <summary>
/// Every connector the plugins provide, found by kind and scheme. Installed packages are known by their
/// manifests, and a package's assembly is loaded only when a command needs a scheme its manifest declares,
/// so a broken or hostile plugin affects only the commands that use it. A plugin that fails to load, to
/// register or to construct its factories, or whose start-up outlives <see cref="StartLimit"/>, is
/// reported by name in <see cref="Errors"/> and left out, and the others go on.
/// </summary>
public sealed class ConnectorCatalog : IDisposable
{
    /// <summary>How long a plugin's start-up (loading, ConfigureServices, its factories' constructors) may take unless told otherwise.</summary>
    public static readonly TimeSpan DefaultStartLimit = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly List<(PluginSource Plugin, PackageManifest? Manifest)> _plugins;
    private readonly HashSet<int> _started = [];
    private readonly Dictionary<string, string> _failed = new(StringComparer.Ordinal);
    private readonly List<ServiceProvider> _providers = [];
    private readonly List<LoadedConnector> _connectors = [];
    private readonly List<string> _errors;

    private ConnectorCatalog(IEnumerable<(PluginSource, PackageManifest?)> plugins, IEnumerable<string> errors, TimeSpan startLimit)
    {
        _plugins = plugins.ToList();
        _errors = errors.ToList();
        StartLimit = startLimit;
    }

    /// <summary>How long one plugin's start-up may take before it is given up (its thread is left behind, and never blocks the exit).</summary>
    public TimeSpan StartLimit { get; }

    /// <summary>The connectors of every plugin (loading those not loaded yet), in load order.</summary>
    public IReadOnlyList<LoadedConnector> Connectors
    {
        get
        {
            lock (_gate)
            {
                LoadPending(_ => true);
                return _connectors.ToList();
            }
        }
    }

    /// <summary>One line for each plugin that could not be read or loaded so far, naming it.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_gate)
            {
                return _errors.ToList();
            }
        }
    }

    /// <summary>Knows every package installed under <paramref name="paths"/> by its manifest; loads none yet.</summary>
    /// <param name="paths">Where packages are installed.</param>
    /// <param name="startLimit">How long one plugin's start-up may take; <see cref="DefaultStartLimit"/> when null.</param>
    /// <returns>The catalog.</returns>
    public static ConnectorCatalog LoadInstalled(CofferPaths paths, TimeSpan? startLimit = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var errors = new List<string>();
        var packages = InstalledPackage.List(paths.PluginsDirectory, (name, reason) => errors.Add($"plugin '{name}' not loaded: {reason}"));
        return new ConnectorCatalog(packages.Select(p => (new PluginSource(p.Manifest.Name, p.EntryAssemblyPath), (PackageManifest?)p.Manifest)), errors, startLimit ?? DefaultStartLimit);
    }

    /// <summary>Loads the given plugins now (no manifest: whatever they register is taken).</summary>
    /// <param name="plugins">The plugins.</param>
    /// <param name="startLimit">How long one plugin's start-up may take; <see cref="DefaultStartLimit"/> when null.</param>
    /// <returns>The catalog.</returns>
    public static ConnectorCatalog Load(IEnumerable<PluginSource> plugins, TimeSpan? startLimit = null)
    {
        ArgumentNullException.ThrowIfNull(plugins);
        var catalog = new ConnectorCatalog(plugins.Select(p => (p, (PackageManifest?)null)), [], startLimit ?? DefaultStartLimit);
        _ = catalog.Connectors;
        return catalog;
    }

    /// <summary>Finds the factory of a kind for a scheme, loading only the packages whose manifests declare it.</summary>
    /// <typeparam name="TFactory">The factory interface of the kind.</typeparam>
    /// <param name="kind">The kind, for the message.</param>
    /// <param name="scheme">The scheme.</param>
    /// <returns>The factory.</returns>
    /// <exception cref="ConnectorConfigurationException">No package provides it, or the one that does could not be loaded.</exception>
    public TFactory Find<TFactory>(ConnectorKind kind, string scheme)
        where TFactory : IConnectorFactory
    {
        if (FindLoaded(kind, scheme, out var failures) is { Factory: TFactory factory })
        {
            return factory;
        }

        if (failures.Count > 0)
        {
            throw new ConnectorConfigurationException(failures[0]);
        }

        var kindName = kind.ToString().ToLowerInvariant();
        throw new ConnectorConfigurationException(
            $"no installed package provides a {kindName} connector for '{scheme}://': install one with 'coffer pkg add FILE.ptar' (see 'coffer connectors')");
    }

    /// <summary>The connector of a kind for a scheme, loading only the packages that declare it; null when none provides it.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="scheme">The scheme.</param>
    /// <returns>The connector, or null.</returns>
    public LoadedConnector? FindOrDefault(ConnectorKind kind, string scheme) => FindLoaded(kind, scheme, out _);

    private LoadedConnector? FindLoaded(ConnectorKind kind, string scheme, out List<string> failures)
    {
        lock (_gate)
        {
            var providers = LoadPending(m => m is null || m.Connectors.Any(c => c.Kind == kind && c.Scheme == scheme));
            failures = providers.Where(_failed.ContainsKey).Select(name => _failed[name]).ToList();
            return _connectors.FirstOrDefault(c => c.Descriptor.Kind == kind && c.Descriptor.Scheme == scheme);
        }
    }

    // Loads the plugins not started yet whose manifest (null: none) matches; returns the names of the
    // plugins, started now or before, whose manifest matches (without one, nothing says what it provides).
    private List<string> LoadPending(Func<PackageManifest?, bool> wanted)
    {
        var matching = new List<string>();
        for (var i = 0; i < _plugins.Count; i++)
        {
            var (plugin, manifest) = _plugins[i];
            if (!wanted(manifest))
            {
                continue;
            }

            if (_started.Add(i) && Start(plugin, manifest) is { } failure)
            {
                _failed[plugin.Name] = failure;
                _errors.Add(failure);
            }

            if (manifest is not null)
            {
                matching.Add(plugin.Name);
            }
        }

        return matching;
    }

    // Starts one plugin on a thread of its own, so a start-up that never ends costs one idle thread and
    // a clear line, not the command; returns the line when it fails.
    private string? Start(PluginSource plugin, PackageManifest? manifest)
    {
        (ServiceProvider Provider, List<LoadedConnector> Connectors)? started = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                started = Register(plugin);
            }
#pragma warning disable CA1031 // A plugin may throw anything; it must not take the host down.
            catch (Exception e)
#pragma warning restore CA1031
            {
                error = e;
            }
        })
        { IsBackground = true, Name = $"start-up of plugin {plugin.Name}" };
        thread.Start();
        if (!thread.Join(StartLimit))
        {
            return $"plugin '{plugin.Name}' not loaded: its start-up did not finish within {StartLimit.TotalSeconds:0.#} s: remove it with 'coffer pkg remove {plugin.Name}' or install a fixed version";
        }

        if (error is not null || started is not { } loaded)
        {
            return $"plugin '{plugin.Name}' not loaded: {Describe(error!)}";
        }

        _providers.Add(loaded.Provider);
        if (manifest is not null && Undeclared(loaded.Connectors, manifest) is { } undeclared)
        {
            return $"plugin '{plugin.Name}' not loaded: {undeclared}";
        }

        _connectors.AddRange(loaded.Connectors);
        return null;
    }

    private static (ServiceProvider, List<LoadedConnector>) Register(PluginSource plugin)
    {
        var services = new ServiceCollection();
        CreateEntry(plugin).ConfigureServices(services);
        var provider = services.BuildServiceProvider();
        try
        {
            var factories = services.Where(d => d.ServiceType == typeof(IConnectorFactory)).Select(d => (IConnectorFactory)Instantiate(d, provider));
            return (provider, factories.Select(f => new LoadedConnector(f, plugin.Name)).ToList());
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }

    // A package may provide only what its manifest declares: `pkg add` refuses schemes by the manifest,
    // so a connector registered behind its back could shadow another package's scheme.
    private static string? Undeclared(IEnumerable<LoadedConnector> connectors, PackageManifest manifest)
    {
        var connector = connectors.FirstOrDefault(c => !manifest.Connectors.Any(m => m.Kind == c.Descriptor.Kind && m.Scheme == c.Descriptor.Scheme));
        return connector is null ? null
            : $"it registers {connector.Descriptor.Kind.ToString().ToLowerInvariant()} '{connector.Descriptor.Scheme}' that its manifest does not declare";
    }

    /// <summary>
    /// The global transfer limits (<c>--limit-upload</c>, <c>--limit-download</c>) every storage, source and destination
    /// connector created from now on is held to; none by default. Volumes (keepstore) are not limited.
    /// </summary>
    public TransferLimits Limits { get; set; } = new(null, null);

    /// <summary>Creates a storage connector for a location.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The connector.</returns>
    public async ValueTask<IStorageConnector> CreateStorageAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default) =>
        Limits.Wrap(await Validated<IStorageConnectorFactory>(ConnectorKind.Storage, configuration).CreateStorageAsync(configuration, cancellationToken).ConfigureAwait(false));

    /// <summary>Creates a source connector for a location.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The connector.</returns>
    public async ValueTask<ISourceConnector> CreateSourceAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default) =>
        Limits.Wrap(await Validated<ISourceConnectorFactory>(ConnectorKind.Source, configuration).CreateSourceAsync(configuration, cancellationToken).ConfigureAwait(false));

    /// <summary>Creates a destination connector for a location.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The connector.</returns>
    public async ValueTask<IDestinationConnector> CreateDestinationAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default) =>
        Limits.Wrap(await Validated<IDestinationConnectorFactory>(ConnectorKind.Destination, configuration).CreateDestinationAsync(configuration, cancellationToken).ConfigureAwait(false));

    /// <summary>Creates a volume for a location.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="settings">Settings every volume honours.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The volume.</returns>
    public ValueTask<IVolume> CreateVolumeAsync(ConnectorConfiguration configuration, VolumeSettings settings, CancellationToken cancellationToken = default) =>
        Validated<IVolumeFactory>(ConnectorKind.Volume, configuration).CreateVolumeAsync(configuration, settings, cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var provider in _providers)
            {
                provider.Dispose();
            }

            _providers.Clear();
        }
    }

    private TFactory Validated<TFactory>(ConnectorKind kind, ConnectorConfiguration configuration)
        where TFactory : IConnectorFactory
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var factory = Find<TFactory>(kind, configuration.Scheme);
        configuration.Validate(factory.Descriptor);
        return factory;
    }

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
