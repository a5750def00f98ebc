using Coffer.Abstractions;

namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>
/// The container and blob-name prefix an <c>azblob://CONTAINER[/PREFIX]</c> location points at. The prefix is
/// either empty or ends with <c>/</c>, so a blob name is always <c>Prefix + relative name</c>.
/// </summary>
internal sealed record AzureLocation(string Container, string Prefix)
{
    /// <summary>Parses the part of the location after <c>azblob://</c>.</summary>
    /// <exception cref="ConnectorConfigurationException">No container, a malformed container name or a prefix with empty, <c>.</c> or <c>..</c> segments.</exception>
    public static AzureLocation Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var container = slash < 0 ? path : path[..slash];
        var prefix = slash < 0 ? string.Empty : path[(slash + 1)..];
        if (!IsValidContainerName(container))
        {
            throw new ConnectorConfigurationException(
                $"'{container}' is not an Azure container name: use azblob://CONTAINER[/PREFIX] with 3 to 63 lower-case letters, digits and single hyphens");
        }

        return new AzureLocation(container, NormalizePrefix(prefix, "location"));
    }

    /// <summary>Turns a user-given prefix into the empty string or <c>segment/…/segment/</c>.</summary>
    /// <param name="prefix">The prefix, with or without leading and trailing slashes.</param>
    /// <param name="where">Where the prefix was given, for the message.</param>
    /// <exception cref="ConnectorConfigurationException">The prefix has empty, <c>.</c> or <c>..</c> segments.</exception>
    public static string NormalizePrefix(string prefix, string where)
    {
        var trimmed = prefix.Trim('/');
        if (trimmed.Length == 0)
        {
            return string.Empty;
        }

        if (trimmed.Split('/').Any(s => s is "" or "." or ".."))
        {
            throw new ConnectorConfigurationException(
                $"prefix '{prefix}' in the {where} has an empty, '.' or '..' segment: give a plain path such as backups/host1");
        }

        return trimmed + "/";
    }

    /// <summary>The location as a user writes it, for descriptions and messages.</summary>
    public override string ToString() => Prefix.Length == 0 ? $"azblob://{Container}" : $"azblob://{Container}/{Prefix.TrimEnd('/')}";

    private static bool IsValidContainerName(string name) =>
        name is "$root" ||
        (name.Length is >= 3 and <= 63 &&
         name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') &&
         name[0] != '-' && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal));
}
