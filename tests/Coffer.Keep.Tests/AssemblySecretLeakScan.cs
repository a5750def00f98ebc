using Coffer.TestSupport;

#pragma warning disable CA1050 // An assembly-wide set-up fixture lives outside every namespace.

/// <summary>The secret leak scan over every process this test assembly ran.</summary>
[SetUpFixture]
public sealed class AssemblySecretLeakScan : SecretLeakScan
{
}
