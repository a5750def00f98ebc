using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Plumbing;

namespace Coffer.Engine.Operations.Find;

/// <summary>
/// What <c>find</c> looks for: an entry matches when one of the globs matches (its name, or its whole path
/// below the snapshot's root with <see cref="WholePath"/>; no glob matches everything) and it passes every
/// filter given.
/// </summary>
internal sealed record FindQuery
{
    public IReadOnlyList<string> Patterns { get; init; } = [];

    /// <summary>Match the globs against the path relative to the snapshot's root, not the name.</summary>
    public bool WholePath { get; init; }

    public bool IgnoreCase { get; init; }

    /// <summary>Only entries modified at or after this time.</summary>
    public DateTimeOffset? Newer { get; init; }

    /// <summary>Only entries modified before this time.</summary>
    public DateTimeOffset? Older { get; init; }

    public SizeRange? Size { get; init; }

    /// <summary>Only these node kinds (<see cref="Node.FileKind"/>…); empty means all.</summary>
    public IReadOnlySet<string> Kinds { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Builds the matcher once, so each entry costs only the regular expressions.</summary>
    internal Func<string, Node, bool> CreateMatcher()
    {
        var patterns = Patterns.Select(p => Glob.ToRegex(WholePath ? p.Trim('/') : p, IgnoreCase)).ToList();
        return (path, node) =>
            (Kinds.Count == 0 || Kinds.Contains(node.Kind))
            && (Newer is not { } newer || node.Mtime >= newer)
            && (Older is not { } older || node.Mtime < older)
            && (Size is not { } size || size.Contains(node.Size))
            && (patterns.Count == 0 || patterns.Exists(p => p.IsMatch(WholePath ? path : node.Name)));
    }
}

/// <summary>A byte range, both ends included; a missing end is open.</summary>
internal sealed record SizeRange(long? Min, long? Max)
{
    public bool Contains(long size) => (Min is not { } min || size >= min) && (Max is not { } max || size <= max);

    /// <summary>Parses <c>N</c> (exactly), <c>MIN..</c>, <c>..MAX</c> or <c>MIN..MAX</c>; sizes in bytes or with a binary unit: 10K, 1.5M, 2G, 1T (KiB… also accepted).</summary>
    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SizeRange? range)
    {
        range = null;
        var dots = text.IndexOf("..", StringComparison.Ordinal);
        if (dots < 0)
        {
            if (!ByteSize.TryParse(text, out var exact))
            {
                return false;
            }

            range = new SizeRange(exact, exact);
            return true;
        }

        long? min = null, max = null;
        var (low, high) = (text[..dots], text[(dots + 2)..]);
        if (low.Length > 0)
        {
            if (!ByteSize.TryParse(low, out var value))
            {
                return false;
            }

            min = value;
        }

        if (high.Length > 0)
        {
            if (!ByteSize.TryParse(high, out var value))
            {
                return false;
            }

            max = value;
        }

        if ((min is null && max is null) || min > max)
        {
            return false;
        }

        range = new SizeRange(min, max);
        return true;
    }
}
