using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Packager;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>An installed package may provide only the connectors its manifest declares.</summary>
public class ManifestHonestyTests
{
    private static string TestPluginEntry(string name) =>
        Path.Combine(RepositoryPaths.TestProjectOutput(Path.Combine("TestPlugins", $"Coffer.TestPlugins.{name}")), $"Coffer.TestPlugins.{name}.dll");

    private static void RewriteManifest(string directory, Func<PackageManifest, PackageManifest> change)
    {
        var path = Path.Combine(directory, PackageManifest.FileName);
        File.WriteAllBytes(path, change(PackageManifest.Parse(File.ReadAllBytes(path))).ToJson());
    }

    [Test]
    public void An_honest_manifest_loads_its_connectors()
    {
        using var root = new TemporaryDirectory("honest");
        InstalledPlugins.InstallBuildOutput(root.Path, "humanizer-old", TestPluginEntry("HumanizerOld"));

        using var catalog = ConnectorCatalog.LoadInstalled(new CofferPaths(root.Path, root.Path));

        Assert.That(catalog.Errors, Is.Empty);
        Assert.That(catalog.Connectors.Select(c => (c.Descriptor.Kind, c.Descriptor.Scheme)), Does.Contain((ConnectorKind.Source, "humanizer-old")));
    }

    [Test]
    public void A_connector_the_manifest_does_not_declare_refuses_the_plugin_and_the_others_load()
    {
        using var root = new TemporaryDirectory("dishonest");
        var liar = InstalledPlugins.InstallBuildOutput(root.Path, "humanizer-old", TestPluginEntry("HumanizerOld"));
        InstalledPlugins.InstallBuildOutput(root.Path, "humanizer-new", TestPluginEntry("HumanizerNew"));
        RewriteManifest(liar, m => m with { Connectors = [] });

        using var catalog = ConnectorCatalog.LoadInstalled(new CofferPaths(root.Path, root.Path));
        var connectors = catalog.Connectors; // loads every package; until then only manifests are read

        Assert.That(catalog.Errors, Is.EqualTo(new[] { "plugin 'humanizer-old' not loaded: it registers source 'humanizer-old' that its manifest does not declare" }));
        Assert.That(connectors.Select(c => c.Package), Has.None.EqualTo("humanizer-old"));
        Assert.That(connectors.Select(c => c.Package), Has.Some.EqualTo("humanizer-new"));
    }

    [Test]
    public void A_manifest_declaring_another_scheme_does_not_cover_what_is_registered()
    {
        using var root = new TemporaryDirectory("other-scheme");
        var liar = InstalledPlugins.InstallBuildOutput(root.Path, "humanizer-old", TestPluginEntry("HumanizerOld"));
        RewriteManifest(liar, m => m with { Connectors = [.. m.Connectors.Select(c => c with { Scheme = "innocent" })] });

        using var catalog = ConnectorCatalog.LoadInstalled(new CofferPaths(root.Path, root.Path));
        var connectors = catalog.Connectors; // loads every package; until then only manifests are read

        Assert.That(catalog.Errors, Has.Count.EqualTo(1));
        Assert.That(catalog.Errors[0], Does.StartWith("plugin 'humanizer-old' not loaded: it registers ").And.EndWith("that its manifest does not declare"));
        Assert.That(connectors, Is.Empty);
    }

    [Test]
    public void The_cli_reports_the_refused_plugin_on_one_line()
    {
        using var root = new TemporaryDirectory("dishonest-cli");
        var coffer = CofferProcess.In(root);
        var liar = InstalledPlugins.InstallBuildOutput(coffer.DataDirectory, "humanizer-old", TestPluginEntry("HumanizerOld"));
        RewriteManifest(liar, m => m with { Connectors = [] });

        var result = coffer.Run("connectors");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Output, Does.Not.Contain("humanizer-old"), result.ToString());
        Assert.That(result.Error.Trim(), Is.EqualTo("coffer: plugin 'humanizer-old' not loaded: it registers source 'humanizer-old' that its manifest does not declare"));
    }
}
