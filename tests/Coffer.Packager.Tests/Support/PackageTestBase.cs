using Coffer.TestSupport;

namespace Coffer.Packager.Tests.Support;

/// <summary>
/// A private coffer (data and config directories of its own) with one unrelated package, "baseline",
/// already installed, so an unchanged install directory is a real, non-empty tree. <see cref="Good"/>
/// is the HumanizerOld test plugin re-packed as "probe" (scheme "probe").
/// </summary>
public abstract class PackageTestBase
{
    protected TemporaryDirectory Root { get; private set; } = null!;

    protected CofferProcess Coffer { get; private set; } = null!;

    protected CofferPaths Paths { get; private set; } = null!;

    protected CraftedPackage Good { get; private set; } = null!;

    /// <summary>Where tests write their crafted packages (outside the install directory).</summary>
    protected string Work => Root.Combine("work");

    [OneTimeSetUp]
    public async Task OpenGoodPackage() => Good = CraftedPackage.Open(await BuiltPackages.HumanizerOldAsync()).Renamed("probe");

    [SetUp]
    public async Task CreateCoffer()
    {
        Root = new TemporaryDirectory("pkg");
        Coffer = CofferProcess.In(Root);
        Paths = new CofferPaths(Coffer.DataDirectory, Coffer.ConfigDirectory);
        var baseline = Good.Renamed("baseline").Write(Work);
        await new PackageInstaller(Paths).AddAsync(baseline);
    }

    [TearDown]
    public void DeleteCoffer() => Root.Dispose();

    /// <summary>Runs 'coffer pkg add', expects one refusal line containing <paramref name="expected"/>, and an untouched install directory.</summary>
    protected CofferResult AssertRefused(string package, string expected, params string[] options)
    {
        var before = InstallTree.Hash(Paths.PluginsDirectory);

        var result = Coffer.Run(["pkg", "add", "--allow-unsigned", .. options, package]);

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Error, Does.StartWith("coffer: ").And.Contain(expected), result.ToString());
            Assert.That(result.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
            Assert.That(InstallTree.Hash(Paths.PluginsDirectory), Is.EqualTo(before), "the install directory changed");
        });
        return result;
    }

    /// <summary>The probe package with its manifest changed and the files as they are.</summary>
    protected string WriteWith(Func<PackageManifest, PackageManifest> change, string? fileName = null)
    {
        var manifest = change(Good.Manifest);
        var path = Path.Combine(Work, fileName ?? PackageFileName.Of(manifest).ToString());
        return CraftedPackage.Write(path, Good.Entries(manifest));
    }

    protected string ProbeFileName => PackageFileName.Of(Good.Manifest).ToString();
}
