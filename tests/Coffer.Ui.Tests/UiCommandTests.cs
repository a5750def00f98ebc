using Coffer.TestSupport;

namespace Coffer.Ui.Tests;

/// <summary>What <c>coffer ui</c> refuses before it serves anything: one line, a non-zero exit.</summary>
public class UiCommandTests
{
    [Test]
    public async Task A_listen_address_that_is_not_host_and_port_is_one_line_and_exit_2()
    {
        var result = await UiFixture.Coffer.RunAsync("at", UiFixture.Store, "ui", "--listen", "somewhere", "--no-open");
        CofferCli.AssertOneLineFailure(result, "--listen 'somewhere' is not HOST:PORT: give e.g. 127.0.0.1:8484");
        Assert.That(result.ExitCode, Is.EqualTo(2));
    }

    [Test]
    public async Task A_store_that_does_not_exist_is_one_line()
    {
        var result = await UiFixture.Coffer.RunAsync("at", UiFixture.Root.Combine("no-store-here"), "ui", "--listen", "127.0.0.1:0", "--no-open");
        CofferCli.AssertOneLineFailure(result, "no store at");
    }

    [Test]
    public async Task A_port_in_use_is_one_line()
    {
        var result = await UiFixture.Coffer.RunAsync("at", UiFixture.Store, "ui", "--listen", UiFixture.BaseUrl.Authority, "--no-open");
        CofferCli.AssertOneLineFailure(result, UiFixture.BaseUrl.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
