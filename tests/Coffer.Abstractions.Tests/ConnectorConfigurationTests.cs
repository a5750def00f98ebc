using Coffer.Abstractions;

namespace Coffer.Abstractions.Tests;

public class ConnectorConfigurationTests
{
    [TestCase("/var/backups", "fs", "/var/backups")]
    [TestCase("relative/dir", "fs", "relative/dir")]
    [TestCase("azblob://container/prefix", "azblob", "container/prefix")]
    [TestCase("AZBLOB://c", "azblob", "c")]
    [TestCase("fs:///abs/path", "fs", "/abs/path")]
    [TestCase("dir with space://x", "fs", "dir with space://x")]
    public void A_location_splits_into_scheme_and_path_and_a_plain_path_means_fs(string location, string scheme, string path)
    {
        var configuration = new ConnectorConfiguration(location);
        Assert.That((configuration.Scheme, configuration.Path), Is.EqualTo((scheme, path)));
    }

    [Test]
    public void An_empty_location_is_refused() =>
        Assert.Throws<ConnectorConfigurationException>(() => _ = new ConnectorConfiguration(""));

    private static readonly ConnectorDescriptor Descriptor = new(ConnectorKind.Storage, "demo", "demo",
        [new ConnectorOption("needed", "a required option", Required: true), new ConnectorOption("secret_key", "a key", Secret: true)]);

    [Test]
    public void Validation_names_an_unknown_option_and_lists_the_known_ones()
    {
        var configuration = new ConnectorConfiguration("demo://x", new Dictionary<string, string> { ["needed"] = "1", ["colour"] = "blue" });
        var error = Assert.Throws<ConnectorConfigurationException>(() => configuration.Validate(Descriptor));
        Assert.That(error!.Message, Is.EqualTo("unknown option 'colour' for demo storage: known options are needed, secret_key"));
    }

    [Test]
    public void A_required_string_is_returned_when_given()
    {
        var configuration = new ConnectorConfiguration("demo://x", new Dictionary<string, string> { ["secret_key"] = "s3cr3t" });
        Assert.That(configuration.GetRequiredString("secret_key"), Is.EqualTo("s3cr3t"));
    }

    [Test]
    public void A_missing_required_string_is_one_line_naming_the_option()
    {
        var configuration = new ConnectorConfiguration("demo://x", new Dictionary<string, string> { ["needed"] = "s3cr3t" });
        var error = Assert.Throws<ConnectorConfigurationException>(() => configuration.GetRequiredString("secret_key"));
        Assert.That(error!.Message, Is.EqualTo("missing option 'secret_key' for demo://x: give it as secret_key=VALUE"));
        Assert.That(error.Message, Does.Not.Contain("s3cr3t"), "never a value: options may be secrets");
    }

    [Test]
    public void Validation_names_a_missing_required_option()
    {
        var configuration = new ConnectorConfiguration("demo://x");
        var error = Assert.Throws<ConnectorConfigurationException>(() => configuration.Validate(Descriptor));
        Assert.That(error!.Message, Does.StartWith("missing option 'needed' for demo storage"));
    }

    [Test]
    public void A_malformed_value_is_refused_naming_the_option_without_echoing_other_options()
    {
        var configuration = new ConnectorConfiguration("demo://x", new Dictionary<string, string> { ["needed"] = "maybe", ["secret_key"] = "hunter2" });
        var error = Assert.Throws<ConnectorConfigurationException>(() => configuration.GetBoolean("needed"));
        Assert.That(error!.Message, Is.EqualTo("option 'needed' must be true or false, not 'maybe'"));
        Assert.That(error.Message, Does.Not.Contain("hunter2"));
    }
}
