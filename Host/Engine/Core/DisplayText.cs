using System.Globalization;

namespace Coffer.Engine.Core;

/// <summary>Sizes and modes as people read them, shared by the command line and the web interface.</summary>
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
}
