namespace Coffer.Packager.Internal;

/// <summary>The rules for a path inside a package: relative, forward slashes, nothing that climbs out.</summary>
internal static class PackagePath
{
    /// <summary>Tells what is wrong with a path, or null when it is acceptable.</summary>
    public static string? Problem(string path)
    {
        if (path.Length == 0)
        {
            return "an empty path";
        }

        if (path[0] == '/')
        {
            return "an absolute path";
        }

        if (path.Contains('\\', StringComparison.Ordinal))
        {
            return "a backslash in its path";
        }

        if (path.Any(char.IsControl))
        {
            return "a control character in its path";
        }

        foreach (var part in path.Split('/'))
        {
            if (part is "..")
            {
                return "'..' in its path";
            }

            if (part is "" or ".")
            {
                return "an empty or '.' component in its path";
            }
        }

        return null;
    }

    /// <summary>The parent directories of a path, nearest last (<c>a/b/c</c> gives <c>a</c>, <c>a/b</c>).</summary>
    public static IEnumerable<string> Parents(string path)
    {
        for (var i = path.IndexOf('/', StringComparison.Ordinal); i >= 0; i = path.IndexOf('/', i + 1))
        {
            yield return path[..i];
        }
    }

    /// <summary>A name made safe to print on one line: control characters become '?'.</summary>
    public static string Printable(string name) =>
        string.Concat(name.Select(c => char.IsControl(c) ? '?' : c));
}
