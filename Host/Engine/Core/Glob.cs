using System.Text;
using System.Text.RegularExpressions;

namespace Coffer.Engine.Core;

/// <summary>
/// The globs every command takes (<c>backup --exclude</c>, <c>find</c>): <c>*</c> and <c>?</c> stay within
/// one path segment, <c>**</c> crosses them, everything else is literal.
/// </summary>
internal static class Glob
{
    /// <summary>
    /// The glob as an anchored regular expression. <paramref name="compiled"/> emits IL: worth it for the many
    /// thousands of paths a backup tests, not for a command that matches a few thousand names once
    /// (compiling cost find ~45 ms CPU of its start, bench/README.md).
    /// </summary>
    public static Regex ToRegex(string glob, bool ignoreCase = false, bool compiled = true)
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

        var options = RegexOptions.CultureInvariant | (compiled ? RegexOptions.Compiled : RegexOptions.None) | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        return new Regex(pattern.Append('$').ToString(), options, TimeSpan.FromSeconds(1));
    }
}
