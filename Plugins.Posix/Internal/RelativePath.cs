using Coffer.Abstractions;

namespace Coffer.Plugins.Posix.Internal;

/// <summary>
/// Checks a connector-relative path: no absolute paths, no <c>..</c>. <see cref="RawDirectory.OpenParent"/>
/// follows it under a root without passing an existing symlink (a link could point anywhere).
/// </summary>
internal static class RelativePath
{
    /// <summary>Splits a relative path into its segments; the root is the empty path.</summary>
    /// <exception cref="PathEscapesRootException">The path is absolute, has a <c>..</c>, or is not clean.</exception>
    public static string[] Split(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            return [];
        }

        if (path[0] == '/')
        {
            throw new PathEscapesRootException($"'{path}' is absolute: paths must be relative to the root");
        }

        var segments = path.Split('/');
        if (segments.Contains(".."))
        {
            throw new PathEscapesRootException($"'{path}' leads outside the root through '..'");
        }

        if (segments.Any(s => s.Length == 0 || s == "." || s.Contains('\0', StringComparison.Ordinal)))
        {
            throw new PathEscapesRootException($"'{path}' is not a clean relative path (empty or '.' segment)");
        }

        return segments;
    }
}
