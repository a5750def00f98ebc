using Coffer.Abstractions;

namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>Maps tree paths (relative, <c>/</c>-separated) to blob names under a prefix and back.</summary>
internal static class TreePaths
{
    /// <summary>The blob name of a tree path.</summary>
    /// <param name="location">The container and prefix.</param>
    /// <param name="path">A relative path; empty for the root.</param>
    /// <returns><c>prefix + path</c>.</returns>
    /// <exception cref="PathEscapesRootException">The path is absolute or has a <c>..</c> segment.</exception>
    /// <exception cref="ArgumentException">The path has an empty or <c>.</c> segment.</exception>
    public static string ToBlobName(AzureLocation location, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.StartsWith('/') || path.StartsWith('\\') || IsDrivePath(path))
        {
            throw new PathEscapesRootException($"path '{path}' is absolute: {location} takes paths relative to it");
        }

        if (path.Length == 0)
        {
            return location.Prefix;
        }

        // Azure turns '\' in blob names into '/', so a backslash separates segments as far as escaping goes.
        if (path.Split('/', '\\').Contains(".."))
        {
            throw new PathEscapesRootException($"path '{path}' leads outside {location}: '..' is refused");
        }

        if (path.Split('/').Any(segment => segment is "" or "."))
        {
            throw new ArgumentException($"path '{path}' has an empty or '.' segment", nameof(path));
        }

        return location.Prefix + path;
    }

    // C:\x or C:/x, as a Windows-made absolute path would arrive; "a:b" is an ordinary name.
    private static bool IsDrivePath(string path) =>
        path.Length >= 3 && char.IsAsciiLetter(path[0]) && path[1] == ':' && path[2] is '/' or '\\';

    /// <summary>
    /// The tree path of a blob name under the prefix, or null when the name cannot be a tree path (an empty,
    /// <c>.</c> or <c>..</c> segment).
    /// </summary>
    public static string? FromBlobName(AzureLocation location, string blobName)
    {
        var relative = blobName[location.Prefix.Length..];
        return relative.Length > 0 && relative.Split('/').All(s => s is not ("" or "." or "..")) ? relative : null;
    }
}
