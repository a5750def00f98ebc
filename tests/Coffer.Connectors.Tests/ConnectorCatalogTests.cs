using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Packager;
using Coffer.TestSupport;

namespace Coffer.Connectors.Tests;

public class ConnectorCatalogTests
{
    private static PluginSource TestPlugin(string name) =>
        new(name, Path.Combine(RepositoryPaths.TestProjectOutput(Path.Combine("TestPlugins", $"Coffer.TestPlugins.{name}")), $"Coffer.TestPlugins.{name}.dll"));

    private static async Task<string> ProbeAsync(ConnectorCatalog catalog, string scheme)
    {
        await using var source = await catalog.CreateSourceAsync(new ConnectorConfiguration($"{scheme}://x"));
        await foreach (var entry in source.ScanAsync())
        {
            return entry.Path;
        }

        throw new AssertionException("the probe source yielded nothing");
    }

    [Test]
    public async Task Plugins_with_different_versions_of_one_dependency_load_side_by_side()
    {
        using var catalog = ConnectorCatalog.Load([TestPlugin("HumanizerOld"), TestPlugin("HumanizerNew")]);

        Assert.That(catalog.Errors, Is.Empty);
        Assert.That(await ProbeAsync(catalog, "humanizer-old"), Is.EqualTo("probe entry 2.14"));
        Assert.That(await ProbeAsync(catalog, "humanizer-new"), Is.EqualTo("probe entry 3.0"));
        Assert.That(catalog.Connectors.Select(c => c.Package), Is.EquivalentTo(new[] { "HumanizerOld", "HumanizerNew" }));
    }

    [Test]
    public async Task A_plugin_whose_entry_point_throws_is_named_and_the_others_keep_working()
    {
        using var catalog = ConnectorCatalog.Load([TestPlugin("HumanizerOld"), TestPlugin("Throwing"), TestPlugin("HumanizerNew")]);

        Assert.That(catalog.Errors, Has.Count.EqualTo(1));
        Assert.That(catalog.Errors[0], Is.EqualTo("plugin 'Throwing' not loaded: the throwing test plugin refuses to register"));
        Assert.That(await ProbeAsync(catalog, "humanizer-old"), Does.StartWith("probe entry"));
        Assert.That(await ProbeAsync(catalog, "humanizer-new"), Does.StartWith("probe entry"));
    }

    [Test]
    public async Task A_plugin_missing_its_main_assembly_is_named_and_the_others_keep_working()
    {
        using var empty = new TemporaryDirectory("plugin");
        using var catalog = ConnectorCatalog.Load([new PluginSource("hollow", empty.Combine("Hollow.dll")), TestPlugin("HumanizerOld")]);

        Assert.That(catalog.Errors, Has.Count.EqualTo(1));
        Assert.That(catalog.Errors[0], Does.StartWith("plugin 'hollow' not loaded: its main assembly Hollow.dll is missing"));
        Assert.That(catalog.Errors[0], Does.Not.Contain("\n"));
        Assert.That(await ProbeAsync(catalog, "humanizer-old"), Does.StartWith("probe entry"));
    }

    [Test]
    public void A_scheme_no_plugin_provides_is_one_clear_error()
    {
        using var catalog = ConnectorCatalog.Load([TestPlugin("HumanizerOld")]);

        var error = Assert.ThrowsAsync<ConnectorConfigurationException>(async () => await catalog.CreateStorageAsync(new ConnectorConfiguration("nosuch://bucket")));
        Assert.That(error!.Message, Does.Contain("no installed package provides a storage connector for 'nosuch://'"));
    }

    [Test]
    public void An_unknown_option_is_refused_by_name()
    {
        using var catalog = ConnectorCatalog.Load([TestPlugin("HumanizerOld")]);

        var error = Assert.ThrowsAsync<ConnectorConfigurationException>(async () =>
            await catalog.CreateSourceAsync(new ConnectorConfiguration("humanizer-old://x", new Dictionary<string, string> { ["colour"] = "blue" })));
        Assert.That(error!.Message, Does.StartWith("unknown option 'colour'"));
    }

    [Test]
    public async Task An_installed_package_is_loaded_only_when_a_scheme_its_manifest_declares_is_used()
    {
        using var root = new TemporaryDirectory("lazy");
        InstalledPlugins.InstallBuildOutput(root.Path, "humanizer-old", TestPlugin("HumanizerOld").EntryAssemblyPath);
        InstalledPlugins.InstallBuildOutput(root.Path, "throwing", TestPlugin("Throwing").EntryAssemblyPath);
        using var catalog = ConnectorCatalog.LoadInstalled(new CofferPaths(root.Path, root.Path));

        Assert.That(await ProbeAsync(catalog, "humanizer-old"), Does.StartWith("probe entry"));
        Assert.That(catalog.Errors, Is.Empty, "the throwing package declares no 'humanizer-old': it was never loaded");
        Assert.That(catalog.FindOrDefault(ConnectorKind.Storage, "nosuch"), Is.Null);
        Assert.That(catalog.Errors, Is.Empty);

        Assert.That(catalog.Connectors.Select(c => c.Package), Is.EqualTo(new[] { "humanizer-old" }));
        Assert.That(catalog.Errors, Is.EqualTo(new[] { "plugin 'throwing' not loaded: the throwing test plugin refuses to register" }), "listing every connector loads every package");
    }

    [Test]
    public void Installed_packages_are_discovered_and_a_broken_one_is_reported_by_the_cli()
    {
        using var root = new TemporaryDirectory("host");
        var coffer = CofferProcess.In(root);
        InstalledPlugins.InstallBuildOutput(coffer.DataDirectory, "humanizer-old", TestPlugin("HumanizerOld").EntryAssemblyPath);
        InstalledPlugins.InstallBuildOutput(coffer.DataDirectory, "throwing", TestPlugin("Throwing").EntryAssemblyPath);

        var result = coffer.Run("connectors");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Output, Does.Contain("source       humanizer-old humanizer-old"), result.ToString());
        Assert.That(result.Error.Trim(), Is.EqualTo("coffer: plugin 'throwing' not loaded: the throwing test plugin refuses to register"));
    }
}
