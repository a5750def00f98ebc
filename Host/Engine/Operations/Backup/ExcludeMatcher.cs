using Coffer.Engine.Core;
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
        _patterns = globs.Select(g => (Glob.ToRegex(g.Trim('/')), !g.Trim('/').Contains('/'))).ToList();

    public bool Matches(string path)
    {
        if (_patterns.Count == 0)
        {
            return false;
        }

        var name = path[(path.LastIndexOf('/') + 1)..];
        return _patterns.Exists(p => p.Pattern.IsMatch(p.ByName ? name : path));
    }
}
