using System.Security.Cryptography;

namespace Coffer.Abstractions;

/// <summary>Block names: the lower-case MD5 hex of the content, as Keep uses.</summary>
public static class BlockHash
{
    /// <summary>The largest block a volume stores: 64 MiB.</summary>
    public const int MaxBlockSize = 64 * 1024 * 1024;

    /// <summary>Tells whether <paramref name="value"/> is 32 lower-case hex digits.</summary>
    /// <param name="value">The candidate.</param>
    /// <returns>True for a well-formed block hash.</returns>
    public static bool IsValid(ReadOnlySpan<char> value)
    {
        if (value.Length != 32)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws unless <paramref name="value"/> is a well-formed block hash.</summary>
    /// <param name="value">The candidate.</param>
    /// <exception cref="ArgumentException">Not 32 lower-case hex digits.</exception>
    public static void Validate(string value)
    {
        if (!IsValid(value))
        {
            throw new ArgumentException($"'{value}' is not a block hash (32 lower-case hex digits)", nameof(value));
        }
    }

    /// <summary>Computes the block hash of <paramref name="data"/>.</summary>
    /// <param name="data">The content.</param>
    /// <returns>The lower-case MD5 hex.</returns>
    public static string Compute(ReadOnlySpan<byte> data)
    {
#pragma warning disable CA5351 // MD5 is the Keep protocol's block name, not a security primitive.
        Span<byte> digest = stackalloc byte[16];
        MD5.HashData(data, digest);
#pragma warning restore CA5351
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>Converts a time to nanoseconds since the Unix epoch, as keepstore indexes print it.</summary>
    /// <param name="time">The time.</param>
    /// <returns>Nanoseconds since 1970-01-01T00:00:00Z.</returns>
    public static long ToUnixNanoseconds(DateTimeOffset time) =>
        (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
}
