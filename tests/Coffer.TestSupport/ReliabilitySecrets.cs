namespace Coffer.TestSupport;

/// <summary>Made-up secrets used only here; every test assembly's leak scan looks for them in its outputs.</summary>
public static class ReliabilitySecrets
{
    public const string Passphrase = "reliability passphrase 5b1c9e0f-never-print-me";

    public const string SasSignature = "c2FzLXNpZ25hdHVyZS1uZXZlci1wcmludC1tZQ%3D%3D";

    /// <summary>A well-formed account key that is not the account's.</summary>
    public const string WrongAccountKey = "d3JvbmctYWNjb3VudC1rZXktbmV2ZXItcHJpbnQtbWUtMDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u";

    public static string Sas => $"sv=2021-08-06&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00:00:00Z&sig={SasSignature}";
}
