using Azure.Storage.Blobs.Models;

namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>
/// How blob properties travel in <see cref="Coffer.Abstractions.TreeEntry.Metadata"/>: user metadata under its
/// own name, service properties under <c>azure.*</c> names, and the symlink marker.
/// </summary>
internal static class BlobEntries
{
    /// <summary>The access tier (Hot, Cool, Cold, Archive).</summary>
    public const string Tier = "azure.tier";

    /// <summary>The blob's Content-Encoding.</summary>
    public const string ContentEncoding = "azure.content_encoding";

    /// <summary>The blob's Content-Language.</summary>
    public const string ContentLanguage = "azure.content_language";

    /// <summary>The blob's Content-Disposition.</summary>
    public const string ContentDisposition = "azure.content_disposition";

    /// <summary>The blob's Cache-Control.</summary>
    public const string CacheControl = "azure.cache_control";

    /// <summary>
    /// The blob metadata that marks a blob as a symbolic link; its value is the link target, percent-encoded
    /// (metadata values are ASCII). The blob's content is the target in UTF-8, its content type
    /// <see cref="SymlinkContentType"/>.
    /// </summary>
    public const string SymlinkKey = "coffer_symlink";

    /// <summary>
    /// The blob metadata that keeps a restored file's modification time (ISO 8601, 100 ns precision), because a
    /// blob's Last-Modified cannot be set. A blob without it is dated by its Last-Modified.
    /// </summary>
    public const string MtimeKey = "coffer_mtime";

    /// <summary>The content type of a blob that stands for a symbolic link.</summary>
    public const string SymlinkContentType = "inode/symlink";

    /// <summary>The <see cref="Coffer.Abstractions.TreeEntry.Metadata"/> of a listed blob.</summary>
    public static Dictionary<string, string> ToEntryMetadata(BlobItem item)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (item.Metadata is not null)
        {
            foreach (var (key, value) in item.Metadata)
            {
                if (!IsReserved(key))
                {
                    metadata[key] = value;
                }
            }
        }

        var properties = item.Properties;
        Add(metadata, Tier, properties.AccessTier?.ToString());
        Add(metadata, ContentEncoding, properties.ContentEncoding);
        Add(metadata, ContentLanguage, properties.ContentLanguage);
        Add(metadata, ContentDisposition, properties.ContentDisposition);
        Add(metadata, CacheControl, properties.CacheControl);
        return metadata;
    }

    /// <summary>The link target a listed blob's metadata marks it with, or null for a plain blob.</summary>
    public static string? SymlinkTarget(BlobItem item)
    {
        if (item.Metadata is null)
        {
            return null;
        }

        foreach (var (key, value) in item.Metadata)
        {
            if (string.Equals(key, SymlinkKey, StringComparison.OrdinalIgnoreCase))
            {
                return Uri.UnescapeDataString(value);
            }
        }

        return null;
    }

    /// <summary>Tells whether a metadata name is one of the plugin's own markers rather than user metadata.</summary>
    public static bool IsReserved(string key) =>
        string.Equals(key, SymlinkKey, StringComparison.OrdinalIgnoreCase) || string.Equals(key, MtimeKey, StringComparison.OrdinalIgnoreCase);

    /// <summary>The modification time of a listed blob: the recorded <see cref="MtimeKey"/>, else Last-Modified.</summary>
    public static DateTimeOffset ModifiedTime(BlobItem item)
    {
        if (item.Metadata is not null)
        {
            foreach (var (key, value) in item.Metadata)
            {
                if (string.Equals(key, MtimeKey, StringComparison.OrdinalIgnoreCase) &&
                    DateTimeOffset.TryParseExact(value, "O", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var recorded))
                {
                    return recorded;
                }
            }
        }

        return item.Properties.LastModified ?? default;
    }

    /// <summary>The <see cref="MtimeKey"/> value for a time.</summary>
    public static string FormatMtime(DateTimeOffset time) => time.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Tells whether a name is acceptable as Azure blob metadata (a C# identifier, ASCII).</summary>
    public static bool IsValidMetadataName(string name) =>
        name.Length is > 0 and <= 256 &&
        (char.IsAsciiLetter(name[0]) || name[0] == '_') &&
        name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>Tells whether a value can travel in an HTTP header unchanged (printable ASCII).</summary>
    public static bool IsValidMetadataValue(string value) =>
        value.All(c => c is >= ' ' and <= '~') && value.Trim().Length == value.Length;

    private static void Add(Dictionary<string, string> metadata, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            metadata[key] = value;
        }
    }
}
