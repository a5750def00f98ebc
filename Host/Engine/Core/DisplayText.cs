using System.Globalization;
using System.Text;
using System.Text.Json;
using Coffer.Plumbing;

namespace Coffer.Engine.Core;

/// <summary>Sizes, modes and names as people read them, shared by the command line and the web interface.</summary>
internal static class DisplayText
{
    /// <summary>A size in binary units with one decimal (<c>3.4 MiB</c>), bytes as they are (<c>12 B</c>).</summary>
    public static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }

    /// <summary>Permission bits as <c>ls</c> shows them (<c>rwxr-x---</c>); question marks when the source recorded none.</summary>
    public static string Mode(int? mode)
    {
        if (mode is not { } bits)
        {
            return "?????????";
        }

        var chars = new char[9];
        const string letters = "rwxrwxrwx";
        for (var i = 0; i < 9; i++)
        {
            chars[i] = (bits & (1 << (8 - i))) != 0 ? letters[i] : '-';
        }

        return new string(chars);
    }

    /// <summary>
    /// A name or path as a line shows it: as it is when it is plain text, else <see cref="Quote"/>d, so a name
    /// with a newline or bytes that are not UTF-8 stays on one line and says what it is.
    /// </summary>
    public static string Name(string name) =>
        name.Any(char.IsControl) || RawName.HasEscapedBytes(name) ? Quote(name) : name;

    /// <summary>
    /// A name quoted as a JSON string, except that each byte that is not UTF-8 (a lone surrogate U+DCNN of
    /// <see cref="RawName"/>) shows as <c>\xNN</c>, which JSON does not have, so it cannot be taken for a character.
    /// </summary>
    public static string Quote(string name)
    {
        var quoted = new StringBuilder("\"");
        var start = 0;
        for (var index = 0; index < name.Length; index++)
        {
            if (char.IsHighSurrogate(name[index]) && index + 1 < name.Length && char.IsLowSurrogate(name[index + 1]))
            {
                index++;
            }
            else if (name[index] is >= '\uDC80' and <= '\uDCFF')
            {
                quoted.Append(JsonEncodedText.Encode(name.AsSpan(start, index - start)).Value)
                    .Append(CultureInfo.InvariantCulture, $"\\x{name[index] - 0xDC00:x2}");
                start = index + 1;
            }
        }

        return quoted.Append(JsonEncodedText.Encode(name.AsSpan(start)).Value).Append('"').ToString();
    }
}
