using Coffer.Abstractions;
using Coffer.Engine.Core;
using System.Text.RegularExpressions;

namespace Coffer.Engine.Operations.Backup;

/// <summary>A path a <c>--files-from</c> list names, relative to the source's root.</summary>
/// <param name="Path">The path, or a glob.</param>
/// <param name="IsGlob">Whether <c>*</c>, <c>?</c> and <c>**</c> in it are wildcards.</param>
internal sealed record IncludedPath(string Path, bool IsGlob);

/// <summary>How a path stands against a <c>--files-from</c> list.</summary>
internal enum Inclusion
{
    /// <summary>Neither listed nor on the way to a listed path: left out.</summary>
    None,

    /// <summary>A directory on the way to a listed path: kept only if something below it is.</summary>
    Ancestor,

    /// <summary>Listed (or matched by a listed glob): kept with everything below it.</summary>
    Listed,
}

/// <summary>
/// A backup's selection. <c>--exclude</c>/<c>--iexclude</c> globs: <c>*</c> and <c>?</c> stay within one path
/// segment, <c>**</c> crosses them. A pattern without <c>/</c> matches an entry's name anywhere in the tree;
/// one with <c>/</c> matches the path relative to the source root. An excluded directory takes everything
/// below it along. Files over <c>--exclude-larger-than</c> are left out. With <c>--files-from</c> lists only
/// the listed paths (literal or globs, relative to the source root) are kept, with their parent directories.
/// </summary>
internal sealed class ExcludeMatcher
{
    private readonly List<(Regex Pattern, bool ByName)> _patterns;
    private readonly long? _largerThan;
    private readonly List<(Regex Whole, Regex?[] Segments)>? _includes;

    /// <param name="globs">Exclude globs, case-sensitive.</param>
    /// <param name="caseInsensitiveGlobs">Exclude globs that ignore case.</param>
    /// <param name="largerThan">Files larger than this many bytes are left out; null: no limit.</param>
    /// <param name="includes">Paths (literal) or globs relative to the source root to keep; null: everything.</param>
    public ExcludeMatcher(IEnumerable<string> globs, IEnumerable<string>? caseInsensitiveGlobs = null, long? largerThan = null, IEnumerable<IncludedPath>? includes = null)
    {
        _patterns = globs.Select(g => Pattern(g, ignoreCase: false)).Concat((caseInsensitiveGlobs ?? []).Select(g => Pattern(g, ignoreCase: true))).ToList();
        _largerThan = largerThan;

        // A segment holding ** may stand for any number of directories: every directory may be on its way.
        _includes = includes?.Select(i => i with { Path = i.Path.Trim('/') })
            .Select(i => (ToRegex(i.Path, i.IsGlob), i.Path.Split('/').Select(s => i.IsGlob && s.Contains("**", StringComparison.Ordinal) ? null : ToRegex(s, i.IsGlob)).ToArray()))
            .ToList();
    }

    /// <summary>True when a <c>--files-from</c> list limits the backup.</summary>
    public bool HasIncludes => _includes is not null;

    public bool Matches(string path)
    {
        if (_patterns.Count == 0)
        {
            return false;
        }

        var name = path[(path.LastIndexOf('/') + 1)..];
        return _patterns.Exists(p => p.Pattern.IsMatch(p.ByName ? name : path));
    }

    /// <summary>True when an exclude glob matches the entry or it is a file over the size limit.</summary>
    public bool Excludes(TreeEntry entry) =>
        Matches(entry.Path) || (entry.Kind == EntryKind.File && entry.Size > _largerThan);

    /// <summary>Where a path below a directory that is not itself listed stands against the <c>--files-from</c> list.</summary>
    public Inclusion Includes(string path, bool isDirectory)
    {
        if (_includes is null || _includes.Exists(i => i.Whole.IsMatch(path)))
        {
            return Inclusion.Listed;
        }

        var segments = path.Split('/');
        return isDirectory && _includes.Exists(i => IsOnTheWay(segments, i.Segments)) ? Inclusion.Ancestor : Inclusion.None;
    }

    private static bool IsOnTheWay(string[] directory, Regex?[] include)
    {
        for (var i = 0; i < directory.Length; i++)
        {
            if (i >= include.Length - 1 || include[i] is null)
            {
                return i < include.Length && include[i] is null;
            }

            if (!include[i]!.IsMatch(directory[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static Regex ToRegex(string text, bool isGlob) =>
        isGlob ? Glob.ToRegex(text) : new Regex($"^{Regex.Escape(text)}$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    private static (Regex Pattern, bool ByName) Pattern(string glob, bool ignoreCase) =>
        (Glob.ToRegex(glob.Trim('/'), ignoreCase), !glob.Trim('/').Contains('/'));
}
