using Coffer.Abstractions;

namespace Coffer.Plugins.Posix.Internal;

/// <summary>
/// Turns a connector-relative path into a path under a root without ever leaving it: no absolute
/// paths, no <c>..</c>, and no existing symlink on the way (a link could point anywhere).
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

    /// <summary>
    /// Resolves <paramref name="path"/> under <paramref name="root"/>, checking that every parent is a real
    /// directory (not a link), and optionally creating missing parents.
    /// </summary>
    /// <returns>The full path of the last segment (which may or may not exist), or the root for <c>""</c>.</returns>
    /// <exception cref="PathEscapesRootException">A parent is a symlink.</exception>
    /// <exception cref="NotFoundException">A parent is missing and <paramref name="createParents"/> is false.</exception>
    public static string Resolve(string root, string path, bool createParents)
    {
        var segments = Split(path);
        var current = root;
        for (var i = 0; i < segments.Length - 1; i++)
        {
            current = Path.Combine(current, segments[i]);
            var stat = Native.Lstat(current);
            if (stat is null)
            {
                if (!createParents)
                {
                    throw new NotFoundException($"'{string.Join('/', segments[..(i + 1)])}' does not exist under {root}");
                }

                Directory.CreateDirectory(current);
            }
            else if (stat.Value.IsSymlink)
            {
                throw new PathEscapesRootException($"'{path}' goes through the symlink '{string.Join('/', segments[..(i + 1)])}', which could lead outside {root}");
            }
            else if (!stat.Value.IsDirectory)
            {
                throw new IOException($"cannot use '{path}': '{string.Join('/', segments[..(i + 1)])}' under {root} is not a directory");
            }
        }

        return segments.Length == 0 ? root : Path.Combine(current, segments[^1]);
    }
}
