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
        if (path.StartsWith('/') || path.StartsWith('\\') || (path.Length >= 2 && path[1] == ':'))
        {
            throw new PathEscapesRootException($"path '{path}' is absolute: {location} takes paths relative to it");
        }

        if (path.Length == 0)
        {
            return location.Prefix;
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment == "..")
            {
                throw new PathEscapesRootException($"path '{path}' leads outside {location}: '..' is refused");
            }

            if (segment is "" or ".")
            {
                throw new ArgumentException($"path '{path}' has an empty or '.' segment", nameof(path));
            }
        }

        return location.Prefix + path;
    }

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
