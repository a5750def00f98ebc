using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// A plugin cannot take every store command down (issue 22 item 8): only the packages providing the
/// schemes a command uses are loaded, a start-up that hangs is given up naming the package, and a plugin
/// that ends the process never leaves a backup looking successful.
/// </summary>
public class HostilePluginTests
{
    private static readonly string HostileEntry = Path.Combine(
        RepositoryPaths.TestProjectOutput(Path.Combine("TestPlugins", "Coffer.TestPlugins.Hostile")), "Coffer.TestPlugins.Hostile.dll");

    private static async Task<(CofferProcess Coffer, string Store, string Source)> WithHostileAsync(TemporaryDirectory root)
    {
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(root);
        // Installed while harmless: its manifest declares the 'hostile' source it registers.
        InstalledPlugins.InstallBuildOutput(coffer.DataDirectory, "hostile", HostileEntry);
        var source = root.Combine("source");
        TreeAssert.BuildSample(source, seed: 3);
        coffer.Environment[CliContext.PluginStartVariable] = "2";
        return (coffer, store, source);
    }

    private static int Snapshots(string store) => Directory.GetFiles(Path.Combine(store, "snapshots")).Length;

    [Test]
    public async Task Store_commands_on_other_schemes_never_load_a_hostile_plugin()
    {
        using var root = new TemporaryDirectory("hostile-other");
        var (coffer, store, source) = await WithHostileAsync(root);

        foreach (var behaviour in new[] { "exit", "hang" })
        {
            coffer.Environment["COFFER_TEST_HOSTILE"] = behaviour;
            var backup = await coffer.RunAsync("at", store, "backup", source);
            Assert.That(backup.ExitCode, Is.Zero, $"{behaviour}: {backup}");
            Assert.That(backup.Error, Is.Empty, $"{behaviour}: {backup}");
        }

        Assert.That(Snapshots(store), Is.EqualTo(2));

        // Listing connectors loads every package: the hanging one is named, the others are listed.
        var connectors = await coffer.RunAsync("connectors");
        Assert.That(connectors.ExitCode, Is.EqualTo(1), connectors.ToString());
        Assert.That(connectors.Output, Does.Contain("storage      fs"), connectors.ToString());
        Assert.That(connectors.Error.Trim(), Does.StartWith("coffer: plugin 'hostile' not loaded: its start-up did not finish within 2 s"), connectors.ToString());
    }

    [Test]
    public async Task A_plugin_whose_start_up_hangs_fails_the_command_that_needs_it_naming_the_package()
    {
        using var root = new TemporaryDirectory("hostile-hang");
        var (coffer, store, _) = await WithHostileAsync(root);
        coffer.Environment["COFFER_TEST_HOSTILE"] = "hang";

        var backup = await coffer.RunAsync("at", store, "backup", "hostile://x");

        CofferCli.AssertOneLineFailure(backup, "plugin 'hostile' not loaded: its start-up did not finish within 2 s: remove it with 'coffer pkg remove hostile'");
        Assert.That(Snapshots(store), Is.Zero);
    }

    [Test]
    public async Task A_plugin_that_calls_environment_exit_0_never_makes_a_backup_exit_0()
    {
        using var root = new TemporaryDirectory("hostile-exit");
        var (coffer, store, _) = await WithHostileAsync(root);

        coffer.Environment.Remove("COFFER_TEST_HOSTILE");
        var harmless = await coffer.RunAsync("at", store, "backup", "hostile://x");
        Assert.That(harmless.ExitCode, Is.Zero, $"the test plugin works when it is not hostile: {harmless}");

        foreach (var behaviour in new[] { "exit", "exit-scan" })
        {
            coffer.Environment["COFFER_TEST_HOSTILE"] = behaviour;
            var backup = await coffer.RunAsync("at", store, "backup", "hostile://x");

            CofferCli.AssertOneLineFailure(backup, "the process was ended before the command finished");
            Assert.That(backup.Output, Does.Not.Contain("created"), backup.ToString());
        }

        Assert.That(Snapshots(store), Is.EqualTo(1), "only the harmless backup made a snapshot");
    }
}
