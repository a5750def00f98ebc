using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Sas;
using Coffer.Abstractions;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>Every way of authenticating, against Azurite, and the one-line errors when it goes wrong.</summary>
[TestFixture]
public sealed class AzBlobAuthenticationTests
{
    private AzuriteServer _server = null!;
    private BlobContainerClient _container = null!;
    private TemporaryDirectory _directory = null!;

    [SetUp]
    public async Task SetUpAsync()
    {
        _server = await AzBlobHarness.ServerAsync();
        _container = await _server.CreateContainerAsync("auth");
        await _container.GetBlobClient("docs/hello.txt").UploadAsync(BinaryData.FromString("hello"));
        _directory = new TemporaryDirectory("azauth");
    }

    [TearDown]
    public async Task TearDownAsync()
    {
        _directory.Dispose();
        await _container.DeleteIfExistsAsync();
    }

    private Task<ISourceConnector> SourceAsync(Dictionary<string, string> options, BlobContainerClient? container = null) =>
        AzBlobHarness.Catalog.CreateSourceAsync(new ConnectorConfiguration(AzBlobHarness.Location(container ?? _container), options)).AsTask();

    private static async Task<List<string>> PathsAsync(ISourceConnector source) =>
        (await AzBlobHarness.ToListAsync(source.ScanAsync())).Select(e => e.Path).ToList();

    private static void AssertOneLineWithoutSecrets(Exception error, params string[] secrets)
    {
        Assert.That(error.Message, Does.Not.Contain("\n"), error.Message);
        foreach (var secret in secrets)
        {
            Assert.That(error.Message, Does.Not.Contain(secret), "the message leaks a secret");
        }
    }

    [Test]
    public async Task Connection_string_authenticates()
    {
        await using var source = await SourceAsync(new() { ["connection_string"] = _server.ConnectionString });

        Assert.That(await PathsAsync(source), Is.EqualTo(new[] { "", "docs", "docs/hello.txt" }));
        Assert.That(source.Description, Does.Not.Contain(AzuriteServer.AccountKey));
    }

    [Test]
    public async Task Account_name_and_key_authenticate_against_the_azurite_endpoint()
    {
        await using var source = await SourceAsync(new()
        {
            ["account_name"] = AzuriteServer.AccountName,
            ["account_key"] = AzuriteServer.AccountKey,
            ["endpoint"] = _server.BlobEndpoint.ToString(),
        });

        Assert.That(await PathsAsync(source), Does.Contain("docs/hello.txt"));
    }

    [Test]
    public async Task Devstoreaccount1_with_a_bare_local_endpoint_works_as_plakar_documents()
    {
        await using var source = await SourceAsync(new()
        {
            ["account_name"] = AzuriteServer.AccountName,
            ["account_key"] = AzuriteServer.AccountKey,
            ["endpoint"] = $"http://127.0.0.1:{_server.Port}",
        });

        Assert.That(await PathsAsync(source), Does.Contain("docs/hello.txt"));
    }

    [Test]
    public async Task A_second_account_is_reached_with_its_own_key()
    {
        var second = new BlobServiceClient(_server.ConnectionStringOf(AzuriteServer.SecondAccountName, AzuriteServer.SecondAccountKey));
        var container = await _server.CreateContainerAsync("second", second);
        try
        {
            await container.GetBlobClient("only-here").UploadAsync(BinaryData.FromString("x"));
            await using var source = await SourceAsync(
                new()
                {
                    ["account_name"] = AzuriteServer.SecondAccountName,
                    ["account_key"] = AzuriteServer.SecondAccountKey,
                    ["endpoint"] = _server.EndpointOf(AzuriteServer.SecondAccountName).ToString(),
                },
                container);

            Assert.That(await PathsAsync(source), Is.EqualTo(new[] { "", "only-here" }));
        }
        finally
        {
            await container.DeleteIfExistsAsync();
        }
    }

    [Test]
    public async Task Key_file_with_a_trailing_newline_authenticates()
    {
        var keyFile = _directory.Combine("devstoreaccount1.key");
        await File.WriteAllTextAsync(keyFile, AzuriteServer.AccountKey + "\n");

        await using var source = await SourceAsync(new()
        {
            ["account_name"] = AzuriteServer.AccountName,
            ["account_key_file"] = keyFile,
            ["endpoint"] = _server.BlobEndpoint.ToString(),
        });

        Assert.That(await PathsAsync(source), Does.Contain("docs/hello.txt"));
    }

    [TestCase("{0}\n\n")]
    [TestCase(" {0}\n")]
    [TestCase("{0}\nsecond line\n")]
    [TestCase("")]
    public void Key_file_with_anything_but_the_key_and_one_newline_is_refused(string format)
    {
        var keyFile = _directory.Combine("bad.key");
        File.WriteAllText(keyFile, string.Format(System.Globalization.CultureInfo.InvariantCulture, format, AzuriteServer.AccountKey));

        var error = Assert.ThrowsAsync<ConnectorConfigurationException>(() => SourceAsync(new()
        {
            ["account_name"] = AzuriteServer.AccountName,
            ["account_key_file"] = keyFile,
            ["endpoint"] = _server.BlobEndpoint.ToString(),
        }));

        Assert.That(error!.Message, Does.Contain("account_key_file").And.Contain(keyFile));
        AssertOneLineWithoutSecrets(error, AzuriteServer.AccountKey);
    }

    [Test]
    public async Task No_auth_reads_a_public_container_and_writes_nothing()
    {
        var service = _server.CreateServiceClient();
        var container = service.GetBlobContainerClient($"public-{Guid.NewGuid():N}");
        await container.CreateAsync(PublicAccessType.BlobContainer);
        try
        {
            await container.GetBlobClient("open/data.txt").UploadAsync(BinaryData.FromString("for everyone"));
            var options = new Dictionary<string, string> { ["no_auth"] = "true", ["endpoint"] = _server.BlobEndpoint.ToString() };

            await using var source = await SourceAsync(options, container);
            Assert.That(await PathsAsync(source), Is.EqualTo(new[] { "", "open", "open/data.txt" }));
            await using (var content = await source.OpenReadAsync("open/data.txt"))
            {
                Assert.That(await new StreamReader(content).ReadToEndAsync(), Is.EqualTo("for everyone"));
            }

            var configuration = new ConnectorConfiguration(AzBlobHarness.Location(container), options);
            await using var volume = await AzBlobHarness.Catalog.CreateVolumeAsync(configuration, new VolumeSettings());
            Assert.That(volume.IsReadOnly, Is.True, "anonymous access cannot write");
            await using var storage = await AzBlobHarness.Catalog.CreateStorageAsync(configuration);
            Assert.That(storage.Mode, Is.EqualTo(StorageMode.ReadOnly));
            Assert.ThrowsAsync<ReadOnlyException>(() => storage.CreateAsync(new byte[] { 1 }));
        }
        finally
        {
            await container.DeleteIfExistsAsync();
        }
    }

    [Test]
    public void No_auth_on_a_private_container_is_a_clear_error()
    {
        var error = Assert.ThrowsAsync(
            Is.InstanceOf<ConnectorException>(),
            () => SourceAsync(new() { ["no_auth"] = "true", ["endpoint"] = _server.BlobEndpoint.ToString() }));

        Assert.That(error!.Message, Does.Contain(_container.Name));
        AssertOneLineWithoutSecrets(error);
    }

    [Test]
    public async Task Sas_token_authenticates()
    {
        var sas = _container.GenerateSasUri(BlobContainerSasPermissions.Read | BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(1)).Query;

        await using var source = await SourceAsync(new() { ["sas_token"] = sas, ["endpoint"] = _server.BlobEndpoint.ToString() });

        Assert.That(await PathsAsync(source), Does.Contain("docs/hello.txt"));
        Assert.That(source.Description, Does.Not.Contain("sig="));
    }

    [Test]
    public void A_wrong_key_is_a_one_line_authentication_error()
    {
        var wrongKey = Convert.ToBase64String(new byte[64]);
        var options = new Dictionary<string, string>
        {
            ["account_name"] = AzuriteServer.AccountName,
            ["account_key"] = wrongKey,
            ["endpoint"] = _server.BlobEndpoint.ToString(),
        };

        var volumeError = Assert.ThrowsAsync<ConnectorAuthenticationException>(async () =>
            await AzBlobHarness.Catalog.CreateVolumeAsync(new ConnectorConfiguration(AzBlobHarness.Location(_container), options), new VolumeSettings()));
        var sourceError = Assert.ThrowsAsync<ConnectorAuthenticationException>(() => SourceAsync(options));
        var storageError = Assert.ThrowsAsync<ConnectorAuthenticationException>(async () =>
        {
            await using var storage = await AzBlobHarness.Catalog.CreateStorageAsync(new ConnectorConfiguration(AzBlobHarness.Location(_container), options));
            await storage.OpenAsync();
        });

        var destinationError = Assert.ThrowsAsync<ConnectorAuthenticationException>(async () =>
        {
            await using var destination = await AzBlobHarness.Catalog.CreateDestinationAsync(new ConnectorConfiguration(AzBlobHarness.Location(_container), options));
            await destination.WriteFileAsync(new TreeEntry("f", EntryKind.File) { Size = 1 }, new MemoryStream([1]));
        });

        foreach (var error in new Exception[] { volumeError!, sourceError!, storageError!, destinationError! })
        {
            Assert.That(error.Message, Does.Contain("403").And.Contain("refused the account key").And.Contain(AzuriteServer.AccountName));
            AssertOneLineWithoutSecrets(error, wrongKey);
        }
    }

    [Test]
    public void A_wrong_connection_string_key_is_an_authentication_error_without_the_string()
    {
        var connectionString = _server.ConnectionStringOf(AzuriteServer.AccountName, Convert.ToBase64String(new byte[64]));

        var error = Assert.ThrowsAsync<ConnectorAuthenticationException>(() => SourceAsync(new() { ["connection_string"] = connectionString }));

        AssertOneLineWithoutSecrets(error!, connectionString, Convert.ToBase64String(new byte[64]));
    }

    [Test]
    public void An_entra_credential_that_cannot_get_a_token_is_a_one_line_authentication_error()
    {
        // Azure.Identity runs inside the plugin's load context; with no AZURE_* variables (none are set for the
        // tests) the environment credential has nothing to offer, before anything is sent.

        var error = Assert.ThrowsAsync<ConnectorAuthenticationException>(() => SourceAsync(new()
        {
            ["credential"] = "environment",
            ["endpoint"] = $"https://127.0.0.1:{_server.Port}/{AzuriteServer.AccountName}",
        }));

        Assert.That(error!.Message, Does.Contain("credential=environment").And.Contain("token"));
        AssertOneLineWithoutSecrets(error);
    }

    [Test]
    public void An_unknown_option_is_refused_by_name()
    {
        var error = Assert.ThrowsAsync<ConnectorConfigurationException>(() => SourceAsync(new()
        {
            ["connection_string"] = _server.ConnectionString,
            ["acount_key"] = "typo",
        }));

        Assert.That(error!.Message, Does.Contain("'acount_key'"));
        AssertOneLineWithoutSecrets(error, AzuriteServer.AccountKey);
    }

    private static IEnumerable<TestCaseData> Contradictions()
    {
        yield return new TestCaseData(new Dictionary<string, string> { ["account_name"] = "devstoreaccount1", ["account_key"] = AzuriteServer.AccountKey, ["account_key_file"] = "/dev/null" }, "account_key_file").SetName("key and key file");
        yield return new TestCaseData(new Dictionary<string, string> { ["connection_string"] = "UseDevelopmentStorage=true", ["no_auth"] = "true" }, "no_auth").SetName("connection string and no_auth");
        yield return new TestCaseData(new Dictionary<string, string> { ["account_name"] = "devstoreaccount1", ["account_key"] = AzuriteServer.AccountKey, ["sas_token"] = "sv=2020&sig=abc" }, "sas_token").SetName("key and sas");
        yield return new TestCaseData(new Dictionary<string, string> { ["account_name"] = "devstoreaccount1", ["credential"] = "cli", ["no_auth"] = "true" }, "no_auth").SetName("credential and no_auth");
        yield return new TestCaseData(new Dictionary<string, string> { ["account_name"] = "devstoreaccount1" }, "no credentials").SetName("account name alone");
        yield return new TestCaseData(new Dictionary<string, string>(), "no credentials").SetName("nothing");
        yield return new TestCaseData(new Dictionary<string, string> { ["no_auth"] = "true" }, "endpoint").SetName("no_auth without endpoint");
        yield return new TestCaseData(new Dictionary<string, string> { ["account_name"] = "devstoreaccount1", ["credential"] = "magic" }, "credential").SetName("unknown credential");
        yield return new TestCaseData(new Dictionary<string, string> { ["account_name"] = "devstoreaccount1", ["credential"] = "cli", ["client_id"] = "00000000-0000-0000-0000-000000000000" }, "client_id").SetName("client id without managed identity");
        yield return new TestCaseData(new Dictionary<string, string> { ["account_name"] = "devstoreaccount1", ["account_key"] = "not base64!" }, "account_key").SetName("malformed key");
        yield return new TestCaseData(new Dictionary<string, string> { ["connection_string"] = "AccountKey=c2VjcmV0;garbage" }, "connection_string").SetName("malformed connection string");
        yield return new TestCaseData(new Dictionary<string, string> { ["account_name"] = "devstoreaccount1", ["account_key"] = AzuriteServer.AccountKey, ["endpoint"] = "http://127.0.0.1:1/devstoreaccount1?sig=secret" }, "endpoint").SetName("endpoint with a query");
    }

    [TestCaseSource(nameof(Contradictions))]
    public void Missing_contradictory_or_malformed_options_are_one_line_errors_naming_the_option(Dictionary<string, string> options, string named)
    {
        var error = Assert.ThrowsAsync<ConnectorConfigurationException>(() => SourceAsync(options));

        Assert.That(error!.Message, Does.Contain(named));
        AssertOneLineWithoutSecrets(error, AzuriteServer.AccountKey, "c2VjcmV0", "sig=secret", "sig=abc");
    }

    [Test]
    public async Task Options_that_yield_to_the_connection_string_are_logged_by_name_never_by_value()
    {
        var logs = new RecordingLoggerFactory();
        var configuration = new ConnectorConfiguration(
            AzBlobHarness.Location(_container),
            new Dictionary<string, string>
            {
                ["connection_string"] = _server.ConnectionString,
                ["account_name"] = "someoneelse",
                ["account_key"] = AzuriteServer.SecondAccountKey,
            },
            new ConnectorContext { LoggerFactory = logs });

        await using var source = await AzBlobHarness.Catalog.CreateSourceAsync(configuration);

        Assert.That(await PathsAsync(source), Does.Contain("docs/hello.txt"), "the connection string wins");
        Assert.That(logs.Lines, Has.Some.Contains("account_name, account_key").And.Some.Contains("precedence"));
        Assert.That(string.Join("\n", logs.Lines), Does.Not.Contain(AzuriteServer.SecondAccountKey).And.Not.Contain(AzuriteServer.AccountKey));
    }

    [Test]
    public void Secret_options_are_declared_secret_in_every_descriptor()
    {
        var descriptors = AzBlobHarness.Catalog.Connectors.Where(c => c.Package == "azblob").Select(c => c.Descriptor).ToList();

        Assert.That(descriptors.Select(d => d.Kind), Is.EquivalentTo(Enum.GetValues<ConnectorKind>()));
        foreach (var descriptor in descriptors)
        {
            Assert.That(descriptor.Scheme, Is.EqualTo("azblob"));
            var secret = descriptor.Options.Where(o => o.Secret).Select(o => o.Name);
            Assert.That(secret, Is.EquivalentTo(new[] { "connection_string", "account_key", "sas_token" }), descriptor.Kind.ToString());
            Assert.That(descriptor.Options.Select(o => o.Name), Is.SupersetOf(new[] { "account_name", "account_key_file", "endpoint", "no_auth", "credential", "client_id" }));
        }
    }
}
