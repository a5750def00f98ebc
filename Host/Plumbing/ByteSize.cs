using System.Globalization;
using System.Text.RegularExpressions;

namespace Coffer.Plumbing;

/// <summary>
/// Sizes and rates as people type them, one rule everywhere (<c>find --size</c>, <c>backup --exclude-larger-than</c>,
/// <c>--limit-upload</c>/<c>--limit-download</c>, azblob's <c>upload_limit</c>/<c>download_limit</c>): a bare number is
/// bytes; <c>K</c>, <c>M</c>, <c>G</c>, <c>T</c> are powers of 1024, and <c>KiB</c>, <c>KB</c>, <c>kb</c> … read the same
/// (restic's rule, and no guessing which of 1000 or 1024 a user meant).
/// </summary>
public static partial class ByteSize
{
    /// <summary>Parses bytes, or a number with a binary unit: <c>10K</c>, <c>1.5M</c>, <c>2GiB</c>, <c>1TB</c>, <c>100b</c>; case-insensitive.</summary>
    /// <param name="text">The text.</param>
    /// <param name="bytes">The size, rounded down to whole bytes.</param>
    /// <returns>True when the text is a size.</returns>
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        var match = text is null ? Match.Empty : SizePattern().Match(text.Trim());
        if (!match.Success || !decimal.TryParse(match.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var shift = char.ToLowerInvariant(match.Groups[2].Value.FirstOrDefault()) switch
        {
            'k' => 10,
            'm' => 20,
            'g' => 30,
            't' => 40,
            _ => 0,
        };
        var value = number * (1L << shift);
        if (value > long.MaxValue)
        {
            return false;
        }

        bytes = (long)decimal.Floor(value);
        return true;
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex SizePattern();
}
