using NUnit.Framework;

namespace Coffer.TestSupport;

/// <summary>
/// Registers the secrets the tests use and, when every test of the assembly has run, scans all captured process
/// output for them: a leak anywhere fails the run naming the secret and the command. Each test assembly that runs
/// coffer derives one <c>[SetUpFixture]</c> from it outside every namespace (captures are per process).
/// </summary>
public abstract class SecretLeakScan
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
