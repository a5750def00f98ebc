using System.Text;
using System.Text.RegularExpressions;

namespace Coffer.Engine.Operations.Backup;

/// <summary>
/// <c>--exclude</c> globs: <c>*</c> and <c>?</c> stay within one path segment, <c>**</c> crosses them.
/// A pattern without <c>/</c> matches an entry's name anywhere in the tree; one with <c>/</c> matches the
/// path relative to the source root. An excluded directory takes everything below it along.
/// </summary>
internal sealed class ExcludeMatcher
{
    private readonly List<(Regex Pattern, bool ByName)> _patterns;

    public ExcludeMatcher(IEnumerable<string> globs) =>
        _patterns = globs.Select(g => (ToRegex(g.Trim('/')), !g.Trim('/').Contains('/'))).ToList();

    public bool Matches(string path)
    {
        if (_patterns.Count == 0)
        {
            return false;
        }

        var name = path[(path.LastIndexOf('/') + 1)..];
        return _patterns.Exists(p => p.Pattern.IsMatch(p.ByName ? name : path));
    }

    private static Regex ToRegex(string glob)
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

        return new Regex(pattern.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));
    }
}
