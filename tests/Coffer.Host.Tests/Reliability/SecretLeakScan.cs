using Coffer.Host.Tests.Backup;
using Coffer.Host.Tests.Keep;
using Coffer.Host.Tests.Reliability;
using Coffer.TestSupport;

#pragma warning disable CA1050 // An assembly-wide set-up fixture lives outside every namespace.

/// <summary>
/// Registers the secrets the whole test assembly uses and, when every test has run, scans all captured
/// process output for them: a leak anywhere fails the run naming the secret and the command.
/// </summary>
[SetUpFixture]
public sealed class SecretLeakScan
{
    [OneTimeSetUp]
    public void RegisterSecrets()
    {
        SecretLeaks.Register("the Azurite account key", AzuriteServer.AccountKey);
        SecretLeaks.Register("the second Azurite account key", AzuriteServer.SecondAccountKey);
        SecretLeaks.Register("the keepstore data manager token", KeepTestSecrets.DataManagerToken);
        SecretLeaks.Register("the keepstore user token", KeepTestSecrets.UserToken);
        SecretLeaks.Register("the keepstore permission key", KeepTestSecrets.PermissionKey);
        SecretLeaks.Register("the store passphrase", EngineHarness.Passphrase);
        SecretLeaks.Register("the reliability passphrase", ReliabilitySecrets.Passphrase);
        SecretLeaks.Register("the reliability SAS token", ReliabilitySecrets.SasSignature);
        SecretLeaks.Register("the wrong account key", ReliabilitySecrets.WrongAccountKey);
    }

    [OneTimeTearDown]
    public void NoSecretLeaked()
    {
        var leaks = SecretLeaks.Find();
        Assert.That(leaks, Is.Empty, $"secrets leaked into process output ({SecretLeaks.CapturedCount} outputs scanned)");
    }
}
