using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Coffer.Keep;

/// <summary>What checking a locator's permission signature found.</summary>
internal enum SignatureCheck
{
    Valid,

    /// <summary>The locator carries no <c>+A…@…</c> hint, or a malformed one.</summary>
    Missing,

    /// <summary>The signature does not match this token and key.</summary>
    Invalid,

    /// <summary>The signature's expiry has passed (checked before the signature, as Arvados does).</summary>
    Expired,
}

/// <summary>
/// Keep permission signatures, computed as Arvados computes them: the hint is
/// <c>+A&lt;sig&gt;@&lt;expiry&gt;</c> where expiry is the Unix time in lower-case hex (<c>%08x</c>) and sig is
/// the lower-case hex HMAC-SHA1, keyed with the permission key, of <c>hash@token@expiry@ttl</c>, ttl being the
/// signing TTL in seconds as lower-case hex without padding (Arvados' <c>SignLocator</c> since #8936, 2016: the
/// API server's <c>Blob.verify_signature</c> accepts only this form). Signatures are made in that form;
/// the older <c>hash@token@expiry</c> of the flag-configured keepstore era is still accepted.
/// </summary>
internal sealed class BlobSigner
{
    private readonly byte[] _key;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;

    public BlobSigner(byte[] key, TimeSpan ttl, TimeProvider time)
    {
        _key = key;
        _ttl = ttl;
        _time = time;
    }

    /// <summary>Appends a signature valid for the TTL to a locator.</summary>
    /// <param name="locator">The locator, e.g. <c>hash+size</c>; only its hash is signed.</param>
    /// <param name="token">The client's API token.</param>
    /// <returns>The signed locator.</returns>
    public string Sign(string locator, string token) => Sign(locator, token, _time.GetUtcNow() + _ttl);

    /// <summary>Appends a signature expiring at <paramref name="expiry"/>.</summary>
    /// <param name="locator">The locator; only its hash is signed.</param>
    /// <param name="token">The API token.</param>
    /// <param name="expiry">When the signature stops being valid.</param>
    /// <returns>The signed locator.</returns>
    public string Sign(string locator, string token, DateTimeOffset expiry)
    {
        var hash = locator.Split('+', 2)[0];
        var expiryHex = expiry.ToUnixTimeSeconds().ToString("x8", CultureInfo.InvariantCulture);
        return $"{locator}+A{Compute(_key, hash, token, expiryHex, TtlHex)}@{expiryHex}";
    }

    /// <summary>Checks the permission hint of a locator against a token.</summary>
    /// <param name="locator">The locator from the request.</param>
    /// <param name="token">The client's API token (empty when none).</param>
    /// <returns>What the check found.</returns>
    public SignatureCheck Verify(KeepLocator locator, string token)
    {
        var hint = locator.Hints.FirstOrDefault(h => h.StartsWith('A'));
        if (hint is null || hint.Length != 1 + 40 + 1 + 8 || hint[41] != '@' || !IsLowerHex(hint.AsSpan(1, 40)) || !IsHex(hint.AsSpan(42, 8)))
        {
            return SignatureCheck.Missing;
        }

        var expiryHex = hint[42..];
        var expiry = long.Parse(expiryHex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        if (expiry < _time.GetUtcNow().ToUnixTimeSeconds())
        {
            return SignatureCheck.Expired;
        }

        var given = Encoding.ASCII.GetBytes(hint[1..41]);
        var legacy = Encoding.ASCII.GetBytes(Compute(_key, locator.Hash, token, expiryHex, ttlHex: null));
        var current = Encoding.ASCII.GetBytes(Compute(_key, locator.Hash, token, expiryHex, TtlHex));

        // Both comparisons always run, in constant time, so timing tells nothing about either.
        var matchesLegacy = CryptographicOperations.FixedTimeEquals(given, legacy);
        var matchesCurrent = CryptographicOperations.FixedTimeEquals(given, current);
        return matchesLegacy | matchesCurrent ? SignatureCheck.Valid : SignatureCheck.Invalid;
    }

    /// <summary>The signing TTL in whole seconds, lower-case hex without padding, as Go's <c>strconv.FormatInt(s, 16)</c>.</summary>
    private string TtlHex => ((long)_ttl.TotalSeconds).ToString("x", CultureInfo.InvariantCulture);

    private static string Compute(byte[] key, string hash, string token, string expiryHex, string? ttlHex)
    {
        var message = ttlHex is null ? $"{hash}@{token}@{expiryHex}" : $"{hash}@{token}@{expiryHex}@{ttlHex}";
#pragma warning disable CA5350 // HMAC-SHA1 is what Arvados signs locators with; anything else would not interoperate.
        return Convert.ToHexStringLower(HMACSHA1.HashData(key, Encoding.UTF8.GetBytes(message)));
#pragma warning restore CA5350
    }

    private static bool IsLowerHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
