using System.Globalization;
using Coffer.Abstractions;

namespace Coffer.Keep;

/// <summary>
/// A Keep locator as clients send it in a request path: <c>hash[+size][+hint…]</c>, where a permission
/// hint reads <c>A&lt;40 hex&gt;@&lt;8 hex expiry&gt;</c>.
/// </summary>
/// <param name="Hash">The block's MD5 hex.</param>
/// <param name="Size">The size hint, when the first hint is a number.</param>
/// <param name="Text">The locator as given.</param>
internal sealed record KeepLocator(string Hash, long? Size, string Text)
{
    /// <summary>Parses a locator; the hash must be 32 lower-case hex digits, as keepstore's routes require.</summary>
    /// <param name="text">The path without its leading slash.</param>
    /// <param name="locator">The locator.</param>
    /// <returns>False when the text is no locator.</returns>
    public static bool TryParse(string text, out KeepLocator locator)
    {
        locator = null!;
        if (text.Length < 32 || !BlockHash.IsValid(text.AsSpan(0, 32)) || (text.Length > 32 && text[32] != '+'))
        {
            return false;
        }

        long? size = null;
        if (text.Length > 33)
        {
            var first = text.AsSpan(33);
            var end = first.IndexOf('+');
            if (end >= 0)
            {
                first = first[..end];
            }

            if (first.Length > 0 && long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                size = parsed;
            }
        }

        locator = new KeepLocator(text[..32], size, text);
        return true;
    }

    /// <summary>The hints after the hash, in order.</summary>
    public IEnumerable<string> Hints => Text.Length > 33 ? Text[33..].Split('+') : [];
}
