using System.Security.Cryptography;
using System.Text;

namespace Coffer.Packager.Signing;

/// <summary>
/// A package's signature: Ed25519 by <paramref name="Key"/> over the SHA-256 of its exact
/// <c>manifest.json</c> bytes (which list every file's SHA-256), prefixed by a context string so a package
/// signature can never pass for an index signature. See docs/packages.md.
/// </summary>
/// <param name="Key">Who signed.</param>
/// <param name="ManifestSha256">The lower-case hex SHA-256 of the manifest's bytes.</param>
/// <param name="Signature">The 64-byte signature, base64.</param>
public sealed record PackageSignature(PublicSigningKey Key, string ManifestSha256, string Signature)
{
    /// <summary>The file an installed package's signature is recorded in, next to its manifest.</summary>
    public const string InstalledFileName = ".signature";

    private static readonly byte[] Context = Encoding.ASCII.GetBytes("coffer package manifest v1\n");

    /// <summary>Signs a package's manifest.</summary>
    /// <param name="key">The publisher's key.</param>
    /// <param name="manifestJson">The manifest's exact bytes, as in the package.</param>
    /// <returns>The signature.</returns>
    public static PackageSignature Create(SigningKey key, ReadOnlySpan<byte> manifestJson)
    {
        ArgumentNullException.ThrowIfNull(key);
        var digest = SHA256.HashData(manifestJson);
        return new PackageSignature(key.PublicKey, Convert.ToHexStringLower(digest), Convert.ToBase64String(key.Sign(Message(digest))));
    }

    /// <summary>Tells whether this signature is its key's over exactly <paramref name="manifestJson"/>.</summary>
    /// <param name="manifestJson">The manifest bytes read from the package.</param>
    /// <returns>True when the digest matches and the signature verifies.</returns>
    public bool Covers(ReadOnlySpan<byte> manifestJson)
    {
        var digest = SHA256.HashData(manifestJson);
        var signature = new byte[64];
        return Convert.ToHexStringLower(digest) == ManifestSha256
            && Convert.TryFromBase64String(Signature, signature, out var written) && written == 64
            && Key.Verifies(Message(digest), signature);
    }

    /// <summary>The one line an installed package records: <c>KEY MANIFEST_SHA256 SIGNATURE</c>.</summary>
    /// <returns>The line.</returns>
    public string ToLine() => $"{Key.Text} {ManifestSha256} {Signature}";

    /// <summary>Reads what <see cref="ToLine"/> wrote; null when it is not such a line.</summary>
    /// <param name="line">The line.</param>
    /// <returns>The signature, or null.</returns>
    public static PackageSignature? FromLine(string line)
    {
        var parts = (line ?? "").Trim().Split(' ');
        return parts.Length == 3 && PublicSigningKey.TryParse(parts[0], out var key) ? new PackageSignature(key!, parts[1], parts[2]) : null;
    }

    private static byte[] Message(byte[] digest) => [.. Context, .. digest];
}
