using System.Text.RegularExpressions;

using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Core.Chunking;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Crypto;
using Coffer.Engine.Repository.Packs;
using Coffer.Engine.Repository.Locks;
using Coffer.Engine.Repository.Portable;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Diff;
using Coffer.Engine.Operations.Retention;
using Coffer.Engine.Operations.Maintenance;

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
