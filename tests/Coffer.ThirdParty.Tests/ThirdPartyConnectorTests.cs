using System.IO.Compression;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Coffer.Abstractions;
using Coffer.Conformance;
using Coffer.Packager;
using Coffer.TestSupport;

namespace Coffer.ThirdParty.Tests;

/// <summary>
/// A third party's connector, end to end, outside this solution: only the packed NuGet packages from a
/// local folder feed, the <c>dotnet new</c> template, a connector the test writes into the generated
/// project, the generated conformance tests, <c>coffer pkg build</c>, <c>pkg add</c>, and a backup and
/// restore through it. Also two builds of it against other contracts versions: an older minor (1.0),
/// which must load and run, and a newer major (2.0), which must be refused.
/// </summary>
/// <remarks>
/// Every step is a slow dotnet invocation, so the whole flow runs once, in <see cref="RunTheFlowAsync"/>,
/// and the tests assert on what it recorded. A step that the rest depends on stops the flow with its output.
/// </remarks>
[TestFixture]
[NonParallelizable]
public sealed partial class ThirdPartyConnectorTests
{
    private const string Name = "TinyStore";
    private const string OldName = "OldStore";
    private const string NewName = "NewStore";

    private TemporaryDirectory _work = null!;
    private string _feed = "";
    private CofferProcess _coffer = null!;
    private readonly Dictionary<string, CofferResult> _steps = [];
    private string _package = "";
    private string _oldPackage = "";
    private string _newPackage = "";

    private static string Current => CofferAbi.Current.ToString();

    private static string Abstractions => Path.Combine(RepositoryPaths.Root, "Abstractions");

    [OneTimeSetUp]
    public async Task RunTheFlowAsync()
    {
        // Under the system temp directory: none of the repository's Directory.Build.props,
        // Directory.Packages.props or global.json apply, as for a third party.
        _work = new TemporaryDirectory("thirdparty");
        _feed = _work.Combine("feed");
        Directory.CreateDirectory(_feed);
        WriteNugetConfig();

        // The packages, as a release would make them: the current ABI, plus the contracts labelled as an
        // older minor and a newer major. Those two are built from a copy of the sources, so they never
        // overwrite the repository's build of the real version.
        // The real version's two build this checkout's Release output, as the Packager tests' `coffer pkg build` of
        // its plugins does: one such build at a time across the test processes (ProcessLock.ReleaseBuildAsync).
        await using (await ProcessLock.ReleaseBuildAsync())
        {
            await Step("pack abstractions", RepositoryPaths.Root, "pack", Abstractions, "-c", "Release", "-o", _feed);
            await Step("pack conformance", RepositoryPaths.Root, "pack", Path.Combine(RepositoryPaths.Root, "tests", "Coffer.Conformance"), "-c", "Release", "-o", _feed);
        }

        foreach (var abi in new[] { "1.0", "2.0" })
        {
            var copy = CopyOfTheContracts(_work.Combine($"abstractions-{abi}"));
            await Step($"pack abstractions {abi}", copy, "pack", copy, "-c", "Release", "-o", _feed, $"-p:CofferAbiVersion={abi}");
        }

        // A private CLI home: `dotnet new install` must not change the user's template list.
        var cliHome = new Dictionary<string, string> { ["DOTNET_CLI_HOME"] = _work.Combine("cli-home") };
        var source = _work.Combine("src");
        Directory.CreateDirectory(source);
        await Step("new install", source, cliHome, stopOnFailure: true, "new", "install", Path.Combine(RepositoryPaths.Root, "templates", "coffer-connector"));
        foreach (var (name, version) in new[] { (Name, $"{Current}.0"), (OldName, "1.0.0"), (NewName, "2.0.0") })
        {
            await Step($"new {name}", source, cliHome, stopOnFailure: true, "new", "coffer-connector", "-n", name, "-o", name, "--abstractionsVersion", version);
            File.WriteAllText(Path.Combine(source, name, name, "StorageConnector.cs"), TinyConnectorSource.StorageConnector(name));
        }

        await Step("conformance", source, null, stopOnFailure: false, "test", Path.Combine(source, Name, $"{Name}.Tests"));

        _coffer = CofferProcess.In(_work);
        _coffer.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        // Local paths (the tree to back up, the restore target) are the posix plugin's `fs` scheme.
        InstalledPlugins.InstallBuildOutput(_coffer.DataDirectory, "posix", RepositoryPaths.BundledPluginEntry("Posix"));
        var packages = _work.Combine("packages");

        _package = (await Coffer("pkg build", "pkg", "build", Path.Combine(source, Name, Name), "-o", packages)).Output.Trim();
        await Coffer("pkg add", stopOnFailure: false, "pkg", "add", "--allow-unsigned", _package);
        await Coffer("connectors", stopOnFailure: false, "connectors");
        await BackUpAndRestore("tinystore", Name.ToLowerInvariant());

        _oldPackage = (await Coffer("pkg build old", "pkg", "build", Path.Combine(source, OldName, OldName), "-o", packages)).Output.Trim();
        await Coffer("pkg add old", stopOnFailure: false, "pkg", "add", "--allow-unsigned", _oldPackage);
        await BackUpAndRestore("oldstore", OldName.ToLowerInvariant());

        // This coffer rightly cannot load a 2.0 plugin, so `pkg build` refuses it too; a third party
        // would package it with a 2.0 coffer. The same builder makes the package here, with the
        // connectors described by the test instead of by loading the plugin.
        await Coffer("pkg build new", stopOnFailure: false, "pkg", "build", Path.Combine(source, NewName, NewName), "-o", packages);
        _newPackage = await PackageBuilder.BuildAsync(Path.Combine(source, NewName, NewName), new PackageBuildOptions(DescribeNewStore) { OutputDirectory = packages });
        await Coffer("pkg add new", stopOnFailure: false, "pkg", "add", "--allow-unsigned", _newPackage);
        await Coffer("pkg list", stopOnFailure: false, "pkg", "list");
    }

    [OneTimeTearDown]
    public void RemoveTheWork() => _work?.Dispose();

    [Test]
    public void The_conformance_package_depends_only_on_the_contracts_and_nunit_at_the_contracts_version()
    {
        using var package = ZipFile.OpenRead(Path.Combine(_feed, $"Coffer.Conformance.{Current}.0.nupkg"));
        var nuspec = XDocument.Load(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);

        Assert.That(dependencies.Keys, Is.EquivalentTo(new[] { "Coffer.Abstractions", "NUnit" }));
        Assert.That(dependencies["Coffer.Abstractions"], Is.EqualTo($"{Current}.0"));
        Assert.That(package.Entries.Select(e => e.FullName), Does.Contain("README.md").And.Contain("lib/net10.0/Coffer.Conformance.xml"));
    }

    [Test]
    public void The_generated_project_passes_every_case_of_the_storage_conformance_suite()
    {
        var run = _steps["conformance"];
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var summary = SummaryLine().Match(run.Output);
        Assert.That(summary.Success, Is.True, run.ToString());

        // Each [Test] or [TestCase…] method runs at least once in each of the two variants.
        var methods = typeof(StorageConformanceTests).GetMethods()
            .Count(m => m.GetCustomAttributes().Any(a => a is TestAttribute or TestCaseSourceAttribute));
        Assert.That(int.Parse(summary.Groups["failed"].Value), Is.Zero, run.ToString());
        Assert.That(int.Parse(summary.Groups["skipped"].Value), Is.Zero, run.ToString());
        Assert.That(int.Parse(summary.Groups["passed"].Value), Is.GreaterThanOrEqualTo(2 * methods), run.ToString());
        TestContext.Out.WriteLine($"the generated project's conformance run: {summary.Value}");
    }

    [Test]
    public async Task Pkg_build_packages_the_connector_for_the_current_abi()
    {
        Assert.That(Path.GetFileName(_package), Is.EqualTo("tinystore_v0.1.0_any_any.ptar"));
        var manifest = await PackageArchive.VerifyAsync(_package);

        Assert.That(manifest.Abi, Is.EqualTo(Current));
        Assert.That(manifest.Connectors.Select(c => (c.Kind, c.Scheme)), Is.EqualTo(new[] { (ConnectorKind.Storage, "tinystore") }));
        Assert.That(manifest.Files.Select(f => f.Path), Does.Contain("TinyStore.dll").And.No.Contain("Coffer.Abstractions.dll"));
    }

    [Test]
    public void Pkg_add_installs_it_and_coffer_lists_its_connector()
    {
        Assert.That(_steps["pkg add"].ExitCode, Is.Zero, _steps["pkg add"].ToString());
        Assert.That(_steps["pkg add"].Output, Does.StartWith("installed tinystore 0.1.0: tinystore (storage)"));
        Assert.That(_steps["connectors"].Output, Does.Contain("tinystore"), _steps["connectors"].ToString());
    }

    [Test]
    public void A_tree_backed_up_through_the_connector_restores_byte_for_byte() => AssertBackedUpAndRestored("tinystore");

    [Test]
    public async Task A_plugin_built_against_an_older_minor_installs_and_runs()
    {
        Assert.That((await PackageArchive.VerifyAsync(_oldPackage)).Abi, Is.EqualTo("1.0"));
        Assert.That(_steps["pkg add old"].ExitCode, Is.Zero, _steps["pkg add old"].ToString());
        AssertBackedUpAndRestored("oldstore");
    }

    [Test]
    public async Task A_plugin_built_against_a_newer_major_is_refused_with_both_versions_named()
    {
        Assert.That((await PackageArchive.VerifyAsync(_newPackage)).Abi, Is.EqualTo("2.0"));

        var add = _steps["pkg add new"];
        Assert.That(add.ExitCode, Is.EqualTo(1), add.ToString());
        Assert.That(add.Error.TrimEnd(), Does.Not.Contain("\n"), "one line");
        Assert.That(add.Error, Does.Contain("ABI 2.0").And.Contain($"ABI {Current}"), add.ToString());
        Assert.That(_steps["pkg list"].Output, Does.Not.Contain("newstore"), "nothing was installed");

        var build = _steps["pkg build new"];
        Assert.That(build.ExitCode, Is.EqualTo(1), build.ToString());
        Assert.That(build.Error, Does.Contain("2.0").And.Contain(Current), build.ToString());
    }

    private void WriteNugetConfig()
    {
        // Coffer.* come only from the local feed; everything else from nuget.org. Packages are
        // extracted into the work directory, so a Coffer.* package of the same version from an
        // earlier run (or another branch) can never be taken from the user's cache instead of this
        // build; the user's cache is only a read-only fallback for the public packages.
        var userCache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(_work.Combine("nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{_work.Combine("nuget-packages")}" />
              </config>
              <packageSources>
                <clear />
                <add key="local" value="{_feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local">
                  <package pattern="Coffer.*" />
                </packageSource>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
              <fallbackPackageFolders>
                <clear />
                {(Directory.Exists(userCache) && !Directory.EnumerateDirectories(userCache, "coffer.*").Any() ? $"<add key=\"user\" value=\"{userCache}\" />" : "")}
              </fallbackPackageFolders>
            </configuration>
            """);
    }

    // The contracts' project and the repository-wide build settings it relies on, without build output.
    private static string CopyOfTheContracts(string root)
    {
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "global.json" })
        {
            Directory.CreateDirectory(root);
            File.Copy(Path.Combine(RepositoryPaths.Root, file), Path.Combine(root, file));
        }

        var project = Path.Combine(root, "Abstractions");
        foreach (var file in Directory.GetFiles(Abstractions, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Abstractions, file);
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(project, relative))!);
            File.Copy(file, Path.Combine(project, relative));
        }

        return project;
    }

    private async Task BackUpAndRestore(string key, string scheme)
    {
        var tree = _work.Combine($"{key}-tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub", "deeper"));
        File.WriteAllText(Path.Combine(tree, "readme.txt"), $"backed up through {scheme}\n");
        File.WriteAllBytes(Path.Combine(tree, "sub", "random.bin"), Noise(3_000_000, 1));
        File.WriteAllBytes(Path.Combine(tree, "sub", "deeper", "empty.bin"), []);
        var store = $"{scheme}://{_work.Combine($"{key}-store")}";

        await Coffer($"{key} create", stopOnFailure: false, "at", store, "create", "--plaintext");
        await Coffer($"{key} backup", stopOnFailure: false, "at", store, "backup", tree);
        await Coffer($"{key} restore", stopOnFailure: false, "at", store, "restore", "-to", _work.Combine($"{key}-restored"), "latest");
    }

    private void AssertBackedUpAndRestored(string key)
    {
        foreach (var step in new[] { "create", "backup", "restore" })
        {
            Assert.That(_steps[$"{key} {step}"].ExitCode, Is.Zero, _steps[$"{key} {step}"].ToString());
        }

        var tree = _work.Combine($"{key}-tree");
        var restored = _work.Combine($"{key}-restored");
        var expected = Directory.GetFiles(tree, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(tree, f)).Order().ToList();
        Assert.That(Directory.GetFiles(restored, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(restored, f)).Order(), Is.EqualTo(expected));
        foreach (var file in expected)
        {
            Assert.That(File.ReadAllBytes(Path.Combine(restored, file)), SameBytes.As(File.ReadAllBytes(Path.Combine(tree, file))), file);
        }

        // The store really is the connector's one directory: its config and objects, by class.
        var store = Directory.GetFiles(_work.Combine($"{key}-store")).Select(Path.GetFileName).ToList();
        Assert.That(store, Does.Contain("CONFIG"));
        Assert.That(store, Has.Some.StartsWith("Packfile."));
        Assert.That(store, Has.Some.StartsWith("Snapshot."));
    }

    private static byte[] Noise(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static Task<IReadOnlyList<ConnectorManifest>> DescribeNewStore(string packageName, string entryAssemblyPath, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ConnectorManifest>>(
        [
            new ConnectorManifest(ConnectorKind.Storage, "newstore", "Stores coffer stores in newstore",
                [new ConnectorOption("read_only", "Open the store read-only: create, put and delete are refused", DefaultValue: "false")]),
        ]);

    private Task<CofferResult> Step(string name, string directory, params string[] args) => Step(name, directory, null, stopOnFailure: true, args);

    private async Task<CofferResult> Step(string name, string directory, IReadOnlyDictionary<string, string>? environment, bool stopOnFailure, params string[] args)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await Dotnet.RunAsync(directory, environment, args);
        TestContext.Progress.WriteLine($"third party: dotnet {args[0]} ({name}): exit {result.ExitCode} after {clock.Elapsed.TotalSeconds:F0} s");
        return Record(name, result, stopOnFailure);
    }

    private Task<CofferResult> Coffer(string name, params string[] args) => Coffer(name, stopOnFailure: true, args);

    private async Task<CofferResult> Coffer(string name, bool stopOnFailure, params string[] args) =>
        Record(name, await _coffer.RunAsync(args, TimeSpan.FromMinutes(5)), stopOnFailure);

    private CofferResult Record(string name, CofferResult result, bool stopOnFailure)
    {
        _steps[name] = result;
        if (stopOnFailure && result.ExitCode != 0)
        {
            throw new InvalidOperationException($"step '{name}' failed, and the rest of the flow needs it: {result}");
        }

        return result;
    }

    [GeneratedRegex(@"Failed:\s+(?<failed>\d+), Passed:\s+(?<passed>\d+), Skipped:\s+(?<skipped>\d+)")]
    private static partial Regex SummaryLine();
}
