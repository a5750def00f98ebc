using Coffer.Abstractions;

namespace Coffer.Abstractions.Tests;

public class CofferAbiTests
{
    [TestCase("1.0", "1.0", true)]
    [TestCase("1.0", "1.3", true)]
    [TestCase("1.4", "1.3", false)]
    [TestCase("2.0", "1.3", false)]
    [TestCase("0.9", "1.0", false)]
    public void A_plugin_runs_on_the_same_major_with_an_equal_or_newer_host_minor(string plugin, string host, bool compatible) =>
        Assert.That(CofferAbi.IsCompatible(Version.Parse(plugin), Version.Parse(host)), Is.EqualTo(compatible));
}
