using System.Text.Json;
using Coffer.Packager.Tests.Support;
using Coffer.TestSupport;

namespace Coffer.Packager.Tests;

/// <summary>'coffer pkg build' of real projects, and the round trip build → add → list → connectors → remove.</summary>
public class PackageBuilderTests
{
    private static readonly string[] AllKinds = ["volume", "source", "storage", "destination"];

    private TemporaryDirectory _root = null!;
    private CofferProcess _coffer = null!;

    [SetUp]
    public void CreateCoffer()
    {
        _root = new TemporaryDirectory("pkg-build");
        _coffer = CofferProcess.In(_root);
    }

    [TearDown]
    public void DeleteCoffer() => _root.Dispose();

    [Test]
    public async Task Both_bundled_plugins_round_trip_through_build_add_list_connectors_and_remove()
    {
        var posix = await BuiltPackages.PosixAsync();
        var azblob = await BuiltPackages.AzBlobAsync();
        Assert.That(Path.GetFileName(posix), Is.EqualTo("posix_v1.0.0_linux_any.ptar"));
        Assert.That(Path.GetFileName(azblob), Is.EqualTo("azblob_v1.0.0_any_any.ptar"));

        var addPosix = _coffer.Run("pkg", "add", "--allow-unsigned", posix);
        var addAzblob = _coffer.Run("pkg", "add", "--allow-unsigned", azblob);
        Assert.That(addPosix.ExitCode, Is.EqualTo(0), addPosix.ToString());
        Assert.That(addAzblob.ExitCode, Is.EqualTo(0), addAzblob.ToString());

        var list = _coffer.Run("pkg", "list", "--json");
        Assert.That(list.ExitCode, Is.EqualTo(0), list.ToString());
        using (var json = JsonDocument.Parse(list.Output))
        {
            var packages = json.RootElement.EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
            Assert.That(packages.Keys, Is.EquivalentTo(new[] { "azblob", "posix" }));
            Assert.That(packages["posix"].GetProperty("version").GetString(), Is.EqualTo("1.0.0"));
            Assert.That(packages["azblob"].GetProperty("version").GetString(), Is.EqualTo("1.0.0"));
            Assert.That(Connectors(packages["posix"]), Is.EquivalentTo(AllKinds.Select(k => $"{k} fs")));
            Assert.That(Connectors(packages["azblob"]), Is.EquivalentTo(AllKinds.Select(k => $"{k} azblob")));
            Assert.That(packages["azblob"].GetProperty("license").GetString(), Is.EqualTo("MIT"));
            Assert.That(packages["azblob"].GetProperty("description").GetString(), Does.Contain("Azure Blob"));
        }

        // A new coffer process resolves both schemes from what is installed.
        var connectors = _coffer.Run("connectors");
        Assert.That(connectors.ExitCode, Is.EqualTo(0), connectors.ToString());
        foreach (var kind in AllKinds)
        {
            Assert.That(connectors.Output, Does.Match($@"(?m)^{kind}\s+fs\s+posix\s"), connectors.ToString());
            Assert.That(connectors.Output, Does.Match($@"(?m)^{kind}\s+azblob\s+azblob\s"), connectors.ToString());
        }

        Assert.That(_coffer.Run("pkg", "remove", "posix").ExitCode, Is.EqualTo(0));
        Assert.That(_coffer.Run("pkg", "remove", "azblob").ExitCode, Is.EqualTo(0));

        Assert.That(_coffer.Run("pkg", "list", "--json").Output.Trim(), Is.EqualTo("[]"));
        var none = _coffer.Run("connectors");
        Assert.That(none.Output, Does.StartWith("no connectors"), none.ToString());
    }

    [Test]
    public async Task A_bundled_package_ships_no_copy_of_what_the_host_provides()
    {
        var manifest = await PackageArchive.VerifyAsync(await BuiltPackages.AzBlobAsync());

        Assert.That(manifest.Files.Select(f => f.Path), Has.None.StartWith("Coffer.Abstractions."));
        Assert.That(manifest.Files.Select(f => f.Path), Has.None.StartWith("Microsoft.Extensions.DependencyInjection.Abstractions."));
        Assert.That(manifest.Files.Select(f => f.Path), Has.None.StartWith("Microsoft.Extensions.Logging.Abstractions."));
        Assert.That(manifest.Files.Select(f => f.Path), Does.Contain("Azure.Storage.Blobs.dll").And.Contain("Coffer.Plugins.AzBlob.deps.json"));
        Assert.That(manifest.Entry, Is.EqualTo("Coffer.Plugins.AzBlob.dll"));
        Assert.That(manifest.Abi, Is.EqualTo($"{Coffer.Abstractions.CofferAbi.Current.Major}.{Coffer.Abstractions.CofferAbi.Current.Minor}"));
        Assert.That(manifest.Homepage, Is.Not.Empty);
    }

    [Test]
    public async Task A_project_without_a_package_name_is_named_after_its_assembly()
    {
        var manifest = await PackageArchive.VerifyAsync(await BuiltPackages.HumanizerOldAsync());

        Assert.That(manifest.Name, Is.EqualTo("coffer-testplugins-humanizerold"));
        Assert.That((manifest.Os, manifest.Arch), Is.EqualTo(("any", "any")), "no native code");
        Assert.That(manifest.Connectors.Select(c => $"{c.Kind} {c.Scheme}"), Is.EqualTo(new[] { "Source humanizer-old" }));
    }

    [Test]
    public async Task The_same_project_builds_to_the_same_bytes()
    {
        var first = await BuiltPackages.PosixAsync();
        var again = await BuildCheckoutProjectAsync(_root.Combine("again"), "Plugins.Posix");

        Assert.That(again.ExitCode, Is.EqualTo(0), again.ToString());
        Assert.That(File.ReadAllBytes(again.Output.Trim()), SameBytes.As(File.ReadAllBytes(first)));
    }

    [Test]
    public async Task A_plugin_that_fails_to_load_is_not_packaged()
    {
        var output = _root.Combine("out");

        var result = await BuildCheckoutProjectAsync(output, "tests", "TestPlugins", "Coffer.TestPlugins.Throwing");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Error, Does.Contain("coffer: plugin 'coffer-testplugins-throwing' not loaded: the throwing test plugin refuses to register: fix the plugin before packaging it"));
        Assert.That(Directory.Exists(output) ? Directory.GetFiles(output) : [], Is.Empty);
    }

    [Test]
    public void A_directory_without_a_project_is_one_clear_line()
    {
        var result = _coffer.Run("pkg", "build", _root.Path);

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Error.Trim(), Is.EqualTo($"coffer: {_root.Path} holds 0 .csproj files: give the project file itself"));
    }

    [Test]
    public async Task Show_verifies_a_file_and_describes_an_installed_package()
    {
        var posix = await BuiltPackages.PosixAsync();

        var file = _coffer.Run("pkg", "show", posix);
        _coffer.Run("pkg", "add", "--allow-unsigned", posix);
        var installed = _coffer.Run("pkg", "show", "posix");
        var missing = _coffer.Run("pkg", "show", "nosuch");

        Assert.That(file.ExitCode, Is.EqualTo(0), file.ToString());
        Assert.That(file.Output, Does.StartWith("posix 1.0.0").And.Contain("all checksums verified").And.Contain("runs here    yes"));
        Assert.That(installed.Output, Does.StartWith("posix 1.0.0").And.Contain("directory").And.Contain("storage      fs"));
        Assert.That(missing.Error.Trim(), Is.EqualTo("coffer: package 'nosuch' is not installed: see 'coffer pkg list', or give a .ptar file"));
    }

    [Test]
    public async Task List_prints_one_line_per_package_and_more_with_long()
    {
        _coffer.Run("pkg", "add", "--allow-unsigned", await BuiltPackages.PosixAsync());

        var plain = _coffer.Run("pkg", "list");
        var longer = _coffer.Run("pkg", "list", "--long");

        Assert.That(plain.Output, Does.Match(@"^posix\s+1\.0\.0\s+linux/any\s+fs \(volume source storage destination\)\s*$"));
        Assert.That(longer.Output, Does.Contain("license      MIT").And.Contain("contracts ABI"));
    }

    private static IEnumerable<string> Connectors(JsonElement package) =>
        package.GetProperty("connectors").EnumerateArray().Select(c => $"{c.GetProperty("kind").GetString()} {c.GetProperty("scheme").GetString()}");

    /// <summary>'coffer pkg build' of a project of this checkout, which builds its Release output: one such build at a time across test processes.</summary>
    private async Task<CofferResult> BuildCheckoutProjectAsync(string output, params string[] project)
    {
        await using var release = await ProcessLock.ReleaseBuildAsync();
        return _coffer.Run(["pkg", "build", Path.Combine([RepositoryPaths.Root, .. project]), "-o", output]);
    }
}
