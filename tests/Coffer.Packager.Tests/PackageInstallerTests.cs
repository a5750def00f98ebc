using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Packager.Tests.Support;

namespace Coffer.Packager.Tests;

/// <summary>Refusals that depend on this machine and on what is installed; upgrades, removal and running processes.</summary>
public class PackageInstallerTests : PackageTestBase
{
    private string VersionsDirectory => Path.Combine(Paths.PluginsDirectory, PackageInstaller.VersionsDirectoryName);

    [Test]
    public void Another_version_installed_is_refused_without_upgrade()
    {
        Assert.That(Coffer.Run("pkg", "add", "--allow-unsigned", Good.Write(Work)).ExitCode, Is.EqualTo(0));

        AssertRefused(WriteWith(m => m with { Version = "1.1.0" }), "probe 1.0.0 is already installed: to replace it with 1.1.0, run 'coffer pkg add -u probe_v1.1.0_any_any.ptar'");
    }

    [Test]
    public void The_same_version_installed_is_refused_without_upgrade()
    {
        var path = Good.Write(Work);
        Assert.That(Coffer.Run("pkg", "add", "--allow-unsigned", path).ExitCode, Is.EqualTo(0));

        AssertRefused(path, "probe 1.0.0 is already installed: to reinstall it, run 'coffer pkg add -u");
    }

    [Test]
    public void A_scheme_another_package_provides_is_refused()
    {
        // "probe2" brings the same source connector scheme as the installed "baseline".
        var path = Good.Renamed("probe2", scheme: "baseline").Write(Work);

        AssertRefused(path, "its source connector 'baseline' is already provided by package 'baseline': remove that package first ('coffer pkg remove baseline')");
    }

    [Test]
    public void A_scheme_another_package_provides_is_refused_even_when_upgrading()
    {
        var path = Good.Renamed("probe2", scheme: "baseline").Write(Work);

        AssertRefused(path, "is already provided by package 'baseline'", "-u");
    }

    [Test]
    public void A_same_scheme_of_another_kind_is_accepted()
    {
        var manifest = Good.Renamed("probe2", scheme: "baseline").Manifest;
        manifest = manifest with { Connectors = manifest.Connectors.Select(c => c with { Kind = ConnectorKind.Storage }).ToList() };

        var result = Coffer.Run("pkg", "add", "--allow-unsigned", Good.Write(Work, manifest));

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }

    [TestCase("plan9", "amd64")]
    [TestCase("any", "sparc64")]
    public void A_package_for_another_platform_is_refused(string os, string arch) =>
        AssertRefused(WriteWith(m => m with { Os = os, Arch = arch }), $"is built for {os}/{arch}, this machine is {PackagePlatform.CurrentOs}/{PackagePlatform.CurrentArch}");

    [Test]
    public void A_package_for_this_platform_is_accepted()
    {
        var result = Coffer.Run("pkg", "add", "--allow-unsigned", WriteWith(m => m with { Os = PackagePlatform.CurrentOs, Arch = PackagePlatform.CurrentArch }));

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }

    [Test]
    public void A_package_for_a_newer_major_abi_is_refused() =>
        AssertRefused(WriteWith(m => m with { Abi = $"{CofferAbi.Current.Major + 1}.0" }), $"is built for contracts ABI {CofferAbi.Current.Major + 1}.0, this coffer provides ABI {CofferAbi.Current}");

    [Test]
    public void A_package_for_a_newer_minor_abi_is_refused() =>
        AssertRefused(WriteWith(m => m with { Abi = $"{CofferAbi.Current.Major}.{CofferAbi.Current.Minor + 1}" }), "is built for contracts ABI");

    [TestCase("1")]
    [TestCase("1.0.0")]
    [TestCase("one")]
    public void A_malformed_abi_is_refused(string abi) =>
        AssertRefused(WriteWith(m => m with { Abi = abi }), $"invalid abi '{abi}'");

    [Test]
    public void Upgrade_and_downgrade_with_u_switch_versions()
    {
        Assert.That(Coffer.Run("pkg", "add", "--allow-unsigned", Good.Write(Work)).ExitCode, Is.EqualTo(0));

        var up = Coffer.Run("pkg", "add", "--allow-unsigned", "-u", WriteWith(m => m with { Version = "1.1.0" }));
        var listedUp = Installed("probe");
        var down = Coffer.Run("pkg", "add", "--allow-unsigned", "--upgrade", Good.Write(Work));
        var listedDown = Installed("probe");

        Assert.That(up.Output.Trim(), Is.EqualTo("replaced probe 1.0.0 with probe 1.1.0: probe (source)"), up.ToString());
        Assert.That(listedUp?.Manifest.Version, Is.EqualTo("1.1.0"));
        Assert.That(down.Output.Trim(), Is.EqualTo("replaced probe 1.1.0 with probe 1.0.0: probe (source)"), down.ToString());
        Assert.That(listedDown?.Manifest.Version, Is.EqualTo("1.0.0"));
        Assert.That(Directory.GetDirectories(VersionsDirectory, "probe_v*"), Has.Length.EqualTo(3), "retired copies are kept for the grace period");
    }

    [Test]
    public void Remove_takes_the_package_out_of_the_list_and_keeps_its_files_for_a_while()
    {
        Assert.That(Coffer.Run("pkg", "add", "--allow-unsigned", Good.Write(Work)).ExitCode, Is.EqualTo(0));
        var directory = Installed("probe")!.Directory;

        var result = Coffer.Run("pkg", "remove", "probe");

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Output.Trim(), Is.EqualTo("removed probe 1.0.0"));
        Assert.That(Installed("probe"), Is.Null);
        Assert.That(Path.Combine(Paths.PluginsDirectory, "probe"), Does.Not.Exist);
        Assert.That(Path.Combine(directory, "Humanizer.dll"), Does.Exist, "the retired copy stays");
    }

    [Test]
    public void Removing_a_package_that_is_not_installed_is_one_clear_line()
    {
        var before = InstallTree.Hash(Paths.PluginsDirectory);

        var result = Coffer.Run("pkg", "remove", "nosuch");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Error.Trim(), Is.EqualTo("coffer: package 'nosuch' is not installed: see 'coffer pkg list'"));
        Assert.That(InstallTree.Hash(Paths.PluginsDirectory), Is.EqualTo(before));
    }

    [Test]
    public async Task Retired_copies_are_deleted_after_the_grace_period()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var installer = new PackageInstaller(Paths, new PackageInstallerOptions { RetiredGracePeriod = TimeSpan.FromHours(1), Time = clock });
        await installer.AddAsync(Good.Write(Work));
        await installer.AddAsync(WriteWith(m => m with { Version = "1.1.0" }), upgrade: true);
        Assert.That(Directory.GetDirectories(VersionsDirectory, "probe_v*"), Has.Length.EqualTo(2));

        clock.Advance(TimeSpan.FromHours(2));
        await installer.RemoveAsync("baseline");

        Assert.That(Directory.GetDirectories(VersionsDirectory, "probe_v*").Select(Path.GetFileName), Has.One.StartWith("probe_v1.1.0_"), "the installed version stays, the retired one goes");
        Assert.That(Directory.GetDirectories(VersionsDirectory, "baseline_v*"), Has.Length.EqualTo(1), "just retired: kept");
    }

    [Test]
    public async Task Leftovers_of_an_interrupted_install_are_invisible_and_cleaned_up_later()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var installer = new PackageInstaller(Paths, new PackageInstallerOptions { RetiredGracePeriod = TimeSpan.FromHours(1), Time = clock });
        var leftover = Path.Combine(Paths.PluginsDirectory, ".staging-0123456789ab");
        Directory.CreateDirectory(leftover);
        File.WriteAllText(Path.Combine(leftover, "half.dll"), "half");
        Directory.SetLastWriteTimeUtc(leftover, clock.GetUtcNow().UtcDateTime);

        Assert.That(installer.List().Select(p => p.Manifest.Name), Is.EqualTo(new[] { "baseline" }));
        await installer.AddAsync(Good.Write(Work));
        Assert.That(leftover, Does.Exist, "young: it may belong to an install in progress");

        clock.Advance(TimeSpan.FromHours(2));
        await installer.RemoveAsync("probe");
        Assert.That(leftover, Does.Not.Exist);
    }

    [Test]
    public async Task A_package_laid_out_by_hand_as_a_directory_is_upgraded_and_removed()
    {
        // Layouts from before links (or made by hand) are plain directories.
        var installed = Installed("baseline")!;
        var plain = Path.Combine(Paths.PluginsDirectory, "baseline");
        File.Delete(plain);
        CopyDirectory(installed.Directory, plain);
        Assert.That(Installed("baseline")!.Directory, Is.EqualTo(plain));

        await new PackageInstaller(Paths).AddAsync(Good.Renamed("baseline").Write(Work, Good.Renamed("baseline").Manifest with { Version = "2.0.0" }), upgrade: true);
        Assert.That(Installed("baseline")!.Manifest.Version, Is.EqualTo("2.0.0"));

        await new PackageInstaller(Paths).RemoveAsync("baseline");
        Assert.That(Installed("baseline"), Is.Null);
    }

    [Test]
    public async Task A_running_coffer_keeps_working_when_its_package_is_removed_or_replaced()
    {
        // A loaded plugin must declare what it registers, so this probe keeps its real scheme (and the
        // baseline, which shares its code, goes first). Humanizer.dll is loaded lazily, only when the source scans.
        await new PackageInstaller(Paths).RemoveAsync("baseline");
        var honest = Good.Renamed("probe", scheme: "humanizer-old");
        Assert.That(Coffer.Run("pkg", "add", "--allow-unsigned", honest.Write(Work)).ExitCode, Is.EqualTo(0));
        using var removedUnderneath = ConnectorCatalog.LoadInstalled(Paths);
        using var replacedUnderneath = ConnectorCatalog.LoadInstalled(Paths);
        Assert.That(removedUnderneath.Errors, Is.Empty);

        var replaced = Coffer.Run("pkg", "add", "--allow-unsigned", "-u", honest.Write(Work, honest.Manifest with { Version = "1.1.0" }));
        Assert.That(replaced.ExitCode, Is.EqualTo(0), replaced.ToString());
        Assert.That(await ProbeAsync(replacedUnderneath), Is.EqualTo("probe entry 2.14"));

        var removed = Coffer.Run("pkg", "remove", "probe");
        Assert.That(removed.ExitCode, Is.EqualTo(0), removed.ToString());
        Assert.That(await ProbeAsync(removedUnderneath), Is.EqualTo("probe entry 2.14"));

        // And a coffer started now no longer sees it.
        var connectors = Coffer.Run("connectors");
        Assert.That(connectors.Output, Does.Not.Contain("humanizer-old"), connectors.ToString());
    }

    [Test]
    public async Task Two_installs_at_once_are_serialized()
    {
        var first = Good.Write(Work);
        var second = Good.Renamed("probe2").Write(Work);

        var results = await Task.WhenAll(Coffer.RunAsync(["pkg", "add", "--allow-unsigned", first]), Coffer.RunAsync(["pkg", "add", "--allow-unsigned", second]));

        Assert.That(results.Select(r => r.ExitCode), Is.All.EqualTo(0), string.Join("\n", results.Select(r => r.ToString())));
        Assert.That(new PackageInstaller(Paths).List().Select(p => p.Manifest.Name), Is.EquivalentTo(new[] { "baseline", "probe", "probe2" }));
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;

        public void Advance(TimeSpan by) => now += by;
    }

    private InstalledPackage? Installed(string name) => new PackageInstaller(Paths).Find(name);

    private static async Task<string> ProbeAsync(ConnectorCatalog catalog)
    {
        // The probe plugin names its scheme after its assembly, whatever the re-packed manifest says.
        await using var source = await catalog.CreateSourceAsync(new ConnectorConfiguration("humanizer-old://x"));
        await foreach (var entry in source.ScanAsync())
        {
            return entry.Path;
        }

        throw new AssertionException("the probe source yielded nothing");
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
