using Coffer.TestSupport;

namespace Coffer.Host.Tests.Cli;

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
}
