using Coffer.Cli;
using Coffer.Packager;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

public class CommandLineTests
{
    [Test]
    public void Version_prints_the_version_and_succeeds()
    {
        using var root = new TemporaryDirectory("cli");
        var result = CofferProcess.In(root).Run("--version");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Output.Trim(), Does.Match(@"^\d+\.\d+\.\d+"));
    }

    [Test]
    public void An_unknown_command_is_one_line_on_stderr_with_a_usage_exit_code()
    {
        using var root = new TemporaryDirectory("cli");
        var result = CofferProcess.In(root).Run("frobnicate");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), result.ToString());
        Assert.That(result.Error, Does.StartWith("coffer: ").And.Contain("frobnicate").And.Contain("coffer --help"));
        Assert.That(result.Output, Is.Empty);
    }

    [Test]
    public void Help_lists_the_commands()
    {
        using var root = new TemporaryDirectory("cli");
        var result = CofferProcess.In(root).Run("--help");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Output, Does.Contain("connectors"));
    }

    [Test]
    public void Each_part_of_the_tree_adds_exactly_the_commands_it_is_named_for()
    {
        using var root = new TemporaryDirectory("cli");
        using var context = new CliContext(new CofferPaths(root.Combine("data"), root.Combine("config")), TextWriter.Null, TextWriter.Null);
        var passphraseFile = new System.CommandLine.Option<string?>("--passphrase-file");

        foreach (var part in CofferCommandLine.Parts(context, passphraseFile))
        {
            Assert.That(part.Create().Select(c => c.Name), Is.EquivalentTo(part.Names));
        }

        var whole = CofferCommandLine.Build(context).Subcommands.Select(c => c.Name);
        Assert.That(whole, Is.Unique.And.EquivalentTo(CofferCommandLine.Parts(context, passphraseFile).SelectMany(p => p.Names)));
    }

    [Test]
    public void Pkg_list_and_pkg_help_work_from_their_part_of_the_tree()
    {
        using var root = new TemporaryDirectory("cli");
        var coffer = CofferProcess.In(root);

        var list = coffer.Run("pkg", "list");
        var help = coffer.Run("pkg", "--help");

        Assert.That(list.ExitCode, Is.Zero, list.ToString());
        Assert.That(list.Output, Does.Contain("no packages installed"));
        Assert.That(help.Output, Does.Contain("remove"), help.ToString());
    }
}
