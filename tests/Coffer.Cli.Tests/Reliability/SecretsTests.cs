using Coffer.Abstractions;
using Coffer.TestSupport;
using Microsoft.Extensions.Logging;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>Secrets never reach output, listings or error messages; key and passphrase files open to others draw a warning.</summary>
[NonParallelizable]
public class SecretsTests
{
    private static readonly string[] AllSecrets =
        [AzuriteServer.AccountKey, ReliabilitySecrets.WrongAccountKey, ReliabilitySecrets.SasSignature, ReliabilitySecrets.Passphrase, EngineHarness.Passphrase];

    private static void AssertNoSecret(CofferResult result, string what)
    {
        foreach (var secret in AllSecrets)
        {
            Assert.That(result.Output + result.Error, Does.Not.Contain(secret), $"{what} shows a secret:\n{result}");
        }
    }

    [Test]
    public async Task Named_connectors_never_show_their_secrets()
    {
        using var root = new TemporaryDirectory("secrets-show");
        var coffer = KeepstoreProcess.CofferWithPlugins(root);
        var connection = $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.AccountName};AccountKey={AzuriteServer.AccountKey};BlobEndpoint=http://127.0.0.1:1/{AzuriteServer.AccountName};";
        var adds = new[]
        {
            new[] { "store", "add", "keyed", "azblob://c/store", $"account_name={AzuriteServer.AccountName}", $"account_key={AzuriteServer.AccountKey}", "endpoint=http://127.0.0.1:1" },
            ["source", "add", "connected", "azblob://c/src", $"connection_string={connection}"],
            ["destination", "add", "sas", "azblob://c/dst", $"sas_token={ReliabilitySecrets.Sas}", $"account_name={AzuriteServer.AccountName}", "endpoint=http://127.0.0.1:1"],
        };
        foreach (var add in adds)
        {
            var added = await coffer.RunAsync(add);
            Assert.That(added.ExitCode, Is.Zero, added.ToString());
            AssertNoSecret(added, $"{add[0]} add");
        }

        foreach (var (noun, name) in new[] { ("store", "keyed"), ("source", "connected"), ("destination", "sas") })
        {
            var shown = await coffer.RunAsync(noun, "show", name);
            Assert.That(shown.ExitCode, Is.Zero, shown.ToString());
            Assert.That(shown.Output, Does.Contain("********"), "the secret is masked, not dropped");
            AssertNoSecret(shown, $"{noun} show");
            var listed = await coffer.RunAsync(noun, "list");
            Assert.That(listed.Output, Does.Contain(name));
            AssertNoSecret(listed, $"{noun} list");
        }

        var config = Directory.GetFiles(coffer.ConfigDirectory, "*", SearchOption.AllDirectories);
        Assert.That(config, Is.Not.Empty);
        foreach (var file in config)
        {
            Assert.That(File.GetUnixFileMode(file) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead), Is.EqualTo((UnixFileMode)0), $"{file} holds secrets and is readable by others");
        }
    }

    [Test]
    public async Task Wrong_keys_and_passphrases_fail_with_one_line_that_holds_no_secret()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        var container = await azurite.CreateContainerAsync("secrets");
        using var root = new TemporaryDirectory("secrets-wrong");
        var coffer = KeepstoreProcess.CofferWithPlugins(root);
        coffer.Environment["COFFER_TEST_WEAK_KDF"] = "1";
        var endpoint = $"endpoint={azurite.BlobEndpoint}";
        var wrongConnection = $"DefaultEndpointsProtocol=http;AccountName={AzuriteServer.AccountName};AccountKey={ReliabilitySecrets.WrongAccountKey};BlobEndpoint={azurite.BlobEndpoint};";

        string[][] credentials =
        [
            [$"account_name={AzuriteServer.AccountName}", $"account_key={ReliabilitySecrets.WrongAccountKey}", endpoint],
            [$"connection_string={wrongConnection}"],
            [$"account_name={AzuriteServer.AccountName}", $"sas_token={ReliabilitySecrets.Sas}", endpoint],
        ];
        var failures = new List<CofferResult>();
        for (var i = 0; i < credentials.Length; i++)
        {
            var added = await coffer.RunAsync(["store", "add", $"s{i}", $"azblob://{container.Name}/s{i}", .. credentials[i]]);
            Assert.That(added.ExitCode, Is.Zero, added.ToString());
            failures.Add(await coffer.RunAsync("at", $"@s{i}", "create", "--plaintext"));

            // A key=value put where the grammar has no place for it is a usage error that names the key only.
            var misplaced = await coffer.RunAsync(["at", $"azblob://{container.Name}/m{i}", "create", "--plaintext", .. credentials[i]]);
            Assert.That(misplaced.ExitCode, Is.EqualTo(2), misplaced.ToString());
            failures.Add(misplaced);
        }

        foreach (var failure in failures)
        {
            Assert.That(failure.ExitCode, Is.Not.Zero, failure.ToString());
            Assert.That(failure.Error.Trim().Split('\n'), Has.Length.EqualTo(1), failure.ToString());
            AssertNoSecret(failure, "a refused credential");
        }

        var store = root.Combine("store");
        var passphraseFile = KeepTestSecrets.WritePrivateFile(root.Combine("pass"), ReliabilitySecrets.Passphrase + "\n");
        var created = await coffer.RunAsync("at", store, "create", "--passphrase-file", passphraseFile);
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        coffer.Environment["COFFER_PASSPHRASE"] = ReliabilitySecrets.Passphrase + " but wrong";
        var wrong = await coffer.RunAsync("at", store, "ls");
        Assert.That(wrong.ExitCode, Is.Not.Zero);
        Assert.That(wrong.Error.Trim(), Does.StartWith("coffer: wrong passphrase"), wrong.ToString());
        AssertNoSecret(wrong, "a wrong passphrase");
    }

    [Test]
    public async Task A_passphrase_file_open_to_others_draws_a_warning()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        var container = await azurite.CreateContainerAsync("keyfile");
        using var root = new TemporaryDirectory("secrets-modes");
        var coffer = KeepstoreProcess.CofferWithPlugins(root);
        coffer.Environment["COFFER_TEST_WEAK_KDF"] = "1";
        var passphraseFile = KeepTestSecrets.WritePrivateFile(root.Combine("pass"), ReliabilitySecrets.Passphrase + "\n");
        var keyFile = KeepTestSecrets.WritePrivateFile(root.Combine("key"), AzuriteServer.AccountKey + "\n");
        foreach (var name in new[] { "private", "open" })
        {
            var added = await coffer.RunAsync("store", "add", name, $"azblob://{container.Name}/{name}", $"account_name={AzuriteServer.AccountName}", $"account_key_file={keyFile}", $"endpoint={azurite.BlobEndpoint}");
            Assert.That(added.ExitCode, Is.Zero, added.ToString());
        }

        var quiet = await coffer.RunAsync("at", "@private", "create", "--passphrase-file", passphraseFile);
        Assert.That(quiet.ExitCode, Is.Zero, quiet.ToString());
        Assert.That(quiet.Error, Does.Not.Contain("warning"), quiet.ToString());

        File.SetUnixFileMode(passphraseFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var warned = await coffer.RunAsync("at", "@open", "create", "--passphrase-file", passphraseFile);

        Assert.That(warned.ExitCode, Is.Zero, warned.ToString());
        Assert.That(warned.Error, Does.Contain($"the passphrase file {passphraseFile} is open to group or others: chmod 600 {passphraseFile}"), warned.ToString());
        AssertNoSecret(warned, "the warnings");
    }

    [Test]
    public async Task The_azblob_account_key_file_open_to_others_draws_a_warning()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        var container = await azurite.CreateContainerAsync("keywarn");
        using var root = new TemporaryDirectory("secrets-keyfile");
        var keyFile = KeepTestSecrets.WritePrivateFile(root.Combine("key"), AzuriteServer.AccountKey + "\n");
        using var catalog = EngineHarness.LoadBundled();
        var warnings = new List<string>();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(new ListLoggerProvider(warnings)));
        var options = new Dictionary<string, string>
        {
            ["account_name"] = AzuriteServer.AccountName,
            ["account_key_file"] = keyFile,
            ["endpoint"] = azurite.BlobEndpoint.ToString(),
        };
        var configuration = new ConnectorConfiguration($"azblob://{container.Name}/x", options, new ConnectorContext { LoggerFactory = loggers });

        await (await catalog.CreateStorageAsync(configuration)).DisposeAsync();
        Assert.That(warnings, Is.Empty, "a private key file is quiet");

        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        await (await catalog.CreateStorageAsync(configuration)).DisposeAsync();
        Assert.That(warnings, Has.One.EqualTo($"Warning: the account key file {keyFile} is open to group or others: chmod 600 {keyFile}"));
        Assert.That(warnings, Has.None.Contain(AzuriteServer.AccountKey));
    }

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                lock (lines)
                {
                    lines.Add($"{logLevel}: {formatter(state, exception)}");
                }
            }
        }

        public void Dispose()
        {
        }
    }
}
