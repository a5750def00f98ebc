using System.Text;
using Coffer.Plumbing;
using NSec.Cryptography;

namespace Coffer.Packager.Signing;

/// <summary>
/// A publisher's Ed25519 private key, as <c>coffer pkg key generate</c> writes it: one line
/// <c>coffer-ed25519-private BASE64SEED</c> in a file only its owner can read. See docs/packages.md.
/// </summary>
public sealed class SigningKey : IDisposable
{
    private const string FilePrefix = "coffer-ed25519-private ";

    private readonly Key _key;

    private SigningKey(Key key)
    {
        _key = key;
        PublicKey = new PublicSigningKey(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    /// <summary>The key's public half, what users trust.</summary>
    public PublicSigningKey PublicKey { get; }

    /// <summary>Makes a new key and writes it to <paramref name="path"/> with mode 0600; refuses to overwrite a file.</summary>
    /// <param name="path">Where the private key goes.</param>
    /// <returns>The new key.</returns>
    /// <exception cref="PackageException">The file exists or cannot be written.</exception>
    public static SigningKey Generate(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (File.Exists(path))
        {
            throw new PackageException($"{path} already exists: choose another file name (a key is never overwritten)");
        }

        var key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var seed = key.Export(KeyBlobFormat.RawPrivateKey);
        try
        {
            DurableFile.Write(path, stream => stream.Write(Encoding.ASCII.GetBytes(FilePrefix + Convert.ToBase64String(seed) + "\n")), DurableFile.Private);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            key.Dispose();
            throw new PackageException($"cannot write the key to {path}: {e.Message}", e);
        }
        finally
        {
            Array.Clear(seed);
        }

        return new SigningKey(key);
    }

    /// <summary>Reads a private key file.</summary>
    /// <param name="path">The file <see cref="Generate"/> wrote.</param>
    /// <returns>The key.</returns>
    /// <exception cref="PackageException">The file is missing or is not a coffer private key.</exception>
    public static SigningKey Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PackageException($"cannot read the key {path}: {e.Message}", e);
        }

        byte[] seed;
        try
        {
            seed = text.StartsWith(FilePrefix, StringComparison.Ordinal) ? Convert.FromBase64String(text[FilePrefix.Length..]) : [];
        }
        catch (FormatException)
        {
            seed = [];
        }

        if (seed.Length != 32)
        {
            // The file's content is a secret: the message never quotes it.
            throw new PackageException($"{path} is not a coffer private key: make one with 'coffer pkg key generate -o KEYFILE'");
        }

        try
        {
            return new SigningKey(Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey));
        }
        finally
        {
            Array.Clear(seed);
        }
    }

    /// <summary>Signs a message.</summary>
    /// <param name="message">What to sign.</param>
    /// <returns>The 64-byte signature.</returns>
    public byte[] Sign(ReadOnlySpan<byte> message) => SignatureAlgorithm.Ed25519.Sign(_key, message);

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}

/// <summary>An Ed25519 public key, written <c>ed25519:BASE64</c> (what <c>coffer pkg trust add</c> takes).</summary>
public sealed record PublicSigningKey
{
    private const string TextPrefix = "ed25519:";

    private readonly byte[] _raw;

    /// <summary>Creates a key from its 32 raw bytes.</summary>
    /// <param name="raw">The raw public key.</param>
    public PublicSigningKey(byte[] raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        if (raw.Length != 32)
        {
            throw new ArgumentException("an Ed25519 public key has 32 bytes", nameof(raw));
        }

        _raw = raw;
        Text = TextPrefix + Convert.ToBase64String(raw);
    }

    /// <summary>The key as users copy it: <c>ed25519:BASE64</c>.</summary>
    public string Text { get; }

    /// <summary>Reads <c>ed25519:BASE64</c>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="key">The key, when the text is one.</param>
    /// <returns>True when <paramref name="text"/> is a public key.</returns>
    public static bool TryParse(string? text, out PublicSigningKey? key)
    {
        key = null;
        if (text is null || !text.StartsWith(TextPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var raw = new byte[32];
        if (!Convert.TryFromBase64String(text[TextPrefix.Length..], raw, out var written) || written != 32)
        {
            return false;
        }

        key = new PublicSigningKey(raw);
        return true;
    }

    /// <summary>Checks an Ed25519 signature by this key.</summary>
    /// <param name="message">What was signed.</param>
    /// <param name="signature">The signature.</param>
    /// <returns>True when the signature is this key's over <paramref name="message"/>.</returns>
    public bool Verifies(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        signature.Length == SignatureAlgorithm.Ed25519.SignatureSize
        && SignatureAlgorithm.Ed25519.Verify(PublicKey.Import(SignatureAlgorithm.Ed25519, _raw, KeyBlobFormat.RawPublicKey), message, signature);

    /// <inheritdoc />
    public bool Equals(PublicSigningKey? other) => other is not null && Text == other.Text;

    /// <inheritdoc />
    public override int GetHashCode() => Text.GetHashCode(StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => Text;
}
