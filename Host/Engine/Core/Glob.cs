using System.Text;
using System.Text.RegularExpressions;

namespace Coffer.Engine.Core;

/// <summary>
/// The globs every command takes (<c>backup --exclude</c>, <c>find</c>): <c>*</c> and <c>?</c> stay within
/// one path segment, <c>**</c> crosses them, everything else is literal.
/// </summary>
internal static class Glob
{
    public static Regex ToRegex(string glob, bool ignoreCase = false)
    {
        var pattern = new StringBuilder("^");
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                pattern.Append(".*");
                i++;
            }
            else
            {
                pattern.Append(c switch
                {
                    '*' => "[^/]*",
                    '?' => "[^/]",
                    _ => Regex.Escape(c.ToString()),
                });
            }
        }

        var options = RegexOptions.CultureInvariant | RegexOptions.Compiled | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        return new Regex(pattern.Append('$').ToString(), options, TimeSpan.FromSeconds(1));
    }
}
