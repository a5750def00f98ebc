using System.Globalization;
using System.Text.RegularExpressions;

namespace Coffer.Engine.Core;

/// <summary>Sizes as people type them (<c>find --size</c>, <c>backup --exclude-larger-than</c>).</summary>
internal static class ByteSize
{
    /// <summary>Parses bytes, or a number with a binary unit: 10K, 1.5M, 2G, 1T (KiB, MB … also accepted, all powers of 1024).</summary>
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        var match = Regex.Match(text.Trim(), @"^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
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
}
