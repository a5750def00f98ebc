using System.Security.Cryptography;
using System.Text;

namespace Coffer.Keep;

/// <summary>The permission key and the data manager token, read from their files. Neither is ever printed.</summary>
internal sealed class KeepstoreSecrets
{
    private readonly byte[]? _dataManagerTokenDigest;

    public KeepstoreSecrets(BlobSigner? signer, string? dataManagerToken)
    {
        Signer = signer;
        DataManagerToken = dataManagerToken;
        _dataManagerTokenDigest = dataManagerToken is { Length: > 0 } ? SHA256.HashData(Encoding.UTF8.GetBytes(dataManagerToken)) : null;
    }

    /// <summary>Signs and checks locators; null without <c>-permission-key-file</c>.</summary>
    public BlobSigner? Signer { get; }

    public string? DataManagerToken { get; }

    public static KeepstoreSecrets Load(KeepstoreOptions options, TimeProvider time)
    {
        BlobSigner? signer = null;
        if (options.BlobSigningKey is { Length: > 0 } inlineKey)
        {
            signer = new BlobSigner(Encoding.UTF8.GetBytes(inlineKey), options.BlobSignatureTtl, time);
        }
        else if (options.PermissionKeyFile is { } keyFile)
        {
            // keepstore trims surrounding white space from both files.
            var key = Encoding.UTF8.GetBytes(ReadTrimmed(keyFile, "-permission-key-file"));
            if (key.Length == 0)
            {
                throw new KeepConfigurationException($"the permission key file {keyFile} is empty: put the cluster's blob signing key in it");
            }

            signer = new BlobSigner(key, options.BlobSignatureTtl, time);
        }

        string? token = options.SystemRootToken is { Length: > 0 } root ? root : null;
        if (token is null && options.DataManagerTokenFile is { } tokenFile)
        {
            token = ReadTrimmed(tokenFile, "-data-manager-token-file");
            if (token.Length == 0)
            {
                throw new KeepConfigurationException($"the data manager token file {tokenFile} is empty");
            }
        }

        return new KeepstoreSecrets(signer, token);
    }

    /// <summary>Tells, in constant time, whether a request's token is the data manager's.</summary>
    public bool IsDataManager(string token)
    {
        if (_dataManagerTokenDigest is null || token.Length == 0)
        {
            return false;
        }

        // Comparing digests keeps the comparison constant-time even when the lengths differ.
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), _dataManagerTokenDigest);
    }

    private static string ReadTrimmed(string path, string flag)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeepConfigurationException($"{flag}: cannot read {path}: {e.Message}", e);
        }
    }
}
