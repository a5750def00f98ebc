using System.Text;

namespace Coffer.Plugins.Posix.Internal;

/// <summary>
/// Extended attributes as <see cref="Coffer.Abstractions.TreeEntry.Metadata"/>: key <c>xattr.NAME</c>,
/// value the attribute as UTF-8 text, or <c>base64:…</c> when it is not text (or happens to start with
/// that prefix), so every value round-trips. The <c>user.</c> namespace is carried always; <c>security.</c>
/// (SELinux labels, capabilities) and <c>trusted.</c> only when running as root, since only root may read all
/// of them and set them. <c>system.</c> (ACLs) is not carried.
/// </summary>
internal static class Xattrs
{
    /// <summary>The metadata key prefix.</summary>
    public const string KeyPrefix = "xattr.";

    private static readonly string[] Namespaces = Native.IsRoot ? ["user.", "security.", "trusted."] : ["user."];
    private const string Base64Prefix = "base64:";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the user attributes of <paramref name="path"/> as metadata.</summary>
    public static Dictionary<string, string> Read(string path)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Native.ListXattrs(path).Where(IsCarried))
        {
            if (Native.GetXattr(path, name) is { } value)
            {
                metadata[KeyPrefix + name] = Encode(value);
            }
        }

        return metadata;
    }

    /// <summary>Writes the carried <c>xattr.*</c> entries of <paramref name="metadata"/> onto <paramref name="path"/>.</summary>
    /// <returns>False when the filesystem has no extended attributes (nothing was written).</returns>
    public static bool Write(string path, IReadOnlyDictionary<string, string> metadata)
    {
        foreach (var (key, value) in metadata)
        {
            if (key.StartsWith(KeyPrefix, StringComparison.Ordinal) && IsCarried(key[KeyPrefix.Length..]) && !Native.SetXattr(path, key[KeyPrefix.Length..], Decode(value)))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsCarried(string name) => Array.Exists(Namespaces, n => name.StartsWith(n, StringComparison.Ordinal));

    /// <summary>Turns an attribute value into metadata text.</summary>
    public static string Encode(byte[] value)
    {
        try
        {
            var text = StrictUtf8.GetString(value);
            if (!text.StartsWith(Base64Prefix, StringComparison.Ordinal) && !text.Any(char.IsControl))
            {
                return text;
            }
        }
        catch (DecoderFallbackException)
        {
            // Not text: fall through to base64.
        }

        return Base64Prefix + Convert.ToBase64String(value);
    }

    /// <summary>Turns metadata text back into the attribute value.</summary>
    public static byte[] Decode(string value) =>
        value.StartsWith(Base64Prefix, StringComparison.Ordinal) ? Convert.FromBase64String(value[Base64Prefix.Length..]) : Encoding.UTF8.GetBytes(value);
}
