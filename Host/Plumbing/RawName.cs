using System.Buffers;
using System.Text;

namespace Coffer.Plumbing;

/// <summary>
/// The reversible mapping between a file name's raw bytes and the ABI's <c>string</c> paths (docs/abi.md):
/// valid UTF-8 decodes as usual, and each byte 0xNN that is not part of a valid UTF-8 sequence becomes the
/// lone surrogate U+DCNN (Python's <c>surrogateescape</c>). Valid UTF-8 never decodes to a lone surrogate,
/// so encoding gives back exactly the original bytes. The posix plugin names files with it, and the engine
/// stores such names as their bytes (docs/store-format.md, <c>name_raw</c>).
/// </summary>
public static class RawName
{
    private const char EscapeBase = '\uDC00';

    /// <summary>The ABI string for the raw name <paramref name="bytes"/>.</summary>
    /// <param name="bytes">The name's bytes.</param>
    /// <returns>The name, with each byte that is not part of valid UTF-8 as U+DCNN.</returns>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        Span<char> chars = stackalloc char[2];
        while (!bytes.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(bytes, out var rune, out var consumed);
            if (status == OperationStatus.Done)
            {
                text.Append(chars[..rune.EncodeToUtf16(chars)]);
            }
            else
            {
                // Only the first byte is escaped: the bytes after it may start a valid sequence of their own.
                consumed = 1;
                text.Append((char)(EscapeBase + bytes[0]));
            }

            bytes = bytes[consumed..];
        }

        return text.ToString();
    }

    /// <summary>The raw bytes of the ABI string <paramref name="name"/>: the inverse of <see cref="Decode"/>.</summary>
    /// <param name="name">The name.</param>
    /// <returns>Its bytes.</returns>
    public static byte[] Encode(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!name.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF'))
        {
            return Encoding.UTF8.GetBytes(name);
        }

        var bytes = new List<byte>(name.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var index = 0; index < name.Length; index++)
        {
            var character = name[index];
            // Pairs are taken whole below, so a low surrogate met here stands alone: an escaped byte.
            if (character >= '\uDC80' && character <= '\uDCFF')
            {
                bytes.Add((byte)(character - EscapeBase));
                continue;
            }

            if (char.IsHighSurrogate(character) && index + 1 < name.Length && char.IsLowSurrogate(name[index + 1]))
            {
                var pair = new Rune(character, name[index + 1]);
                index++;
                bytes.AddRange(utf8[..pair.EncodeToUtf8(utf8)]);
                continue;
            }

            var single = Rune.IsValid(character) ? new Rune(character) : Rune.ReplacementChar;
            bytes.AddRange(utf8[..single.EncodeToUtf8(utf8)]);
        }

        return [.. bytes];
    }

    /// <summary>Whether <paramref name="name"/> carries escaped bytes, i.e. is not plain UTF-8 text.</summary>
    /// <param name="name">The name.</param>
    /// <returns>True when a lone surrogate is in it.</returns>
    public static bool HasEscapedBytes(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        for (var index = 0; index < name.Length; index++)
        {
            if (char.IsHighSurrogate(name[index]) && index + 1 < name.Length && char.IsLowSurrogate(name[index + 1]))
            {
                index++;
            }
            else if (char.IsSurrogate(name[index]))
            {
                return true;
            }
        }

        return false;
    }
}
