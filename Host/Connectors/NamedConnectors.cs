using System.Text.Json;
using System.Text.Json.Serialization;
using Coffer.Abstractions;
using Coffer.Plumbing;

namespace Coffer.Connectors;

/// <summary>A named store, source or destination: where it is and its options (secrets included, hence 0600).</summary>
internal sealed record NamedConnector
{
    public required string Location { get; init; }

    public Dictionary<string, string> Options { get; init; } = new(StringComparer.Ordinal);

    public ConnectorConfiguration ToConfiguration(string? subPath = null) =>
        new(subPath is null ? Location : JoinSubPath(Location, subPath), Options);

    /// <summary>Appends <c>@name:sub</c>'s sub path to a location, whatever its scheme.</summary>
    public static string JoinSubPath(string location, string subPath)
    {
        var sub = subPath.Trim('/');
        return sub.Length == 0 ? location : $"{location.TrimEnd('/')}/{sub}";
    }
}

/// <summary>
/// The named connectors of one kind under the config directory: <c>stores/</c>, <c>sources/</c> or
/// <c>destinations/</c>, one JSON file per name, written atomically with mode 0600 in a 0700 directory.
/// </summary>
internal sealed class NamedConnectors
{
    private const UnixFileMode PrivateDirectory = DurableFile.Private | UnixFileMode.UserExecute;

    public NamedConnectors(string configDirectory, ConnectorKind kind)
    {
        Kind = kind;
        Directory = Path.Combine(configDirectory, FolderOf(kind));
    }

    public ConnectorKind Kind { get; }

    public string Directory { get; }

    /// <summary>The word users type: store, source, destination.</summary>
    public string Noun => Kind == ConnectorKind.Storage ? "store" : Kind.ToString().ToLowerInvariant();

    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    public IReadOnlyList<string> List() =>
        System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.EnumerateFiles(Directory, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)).Where(IsValidName).Order(StringComparer.Ordinal).ToList()
            : [];

    public NamedConnector? Find(string name)
    {
        if (!IsValidName(name))
        {
            return null;
        }

        var path = PathOf(name);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), ConfigJsonContext.Default.NamedConnector)
                ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new ConnectorConfigurationException($"{path} is not a valid {Noun} definition ({e.Message.Split('\n')[0]}): fix or remove it with 'coffer {Noun} rm {name}'");
        }
    }

    public NamedConnector Get(string name) =>
        Find(name) ?? throw new ConnectorConfigurationException($"no {Noun} named '{name}': see 'coffer {Noun} list', add one with 'coffer {Noun} add {name} LOCATION'");

    public void Save(string name, NamedConnector connector)
    {
        System.IO.Directory.CreateDirectory(Directory, PrivateDirectory);
        DurableFile.Write(PathOf(name), stream => JsonSerializer.Serialize(stream, connector, ConfigJsonContext.Default.NamedConnector), DurableFile.Private);
    }

    public bool Remove(string name)
    {
        var path = PathOf(name);
        if (!IsValidName(name) || !File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    private string PathOf(string name) => Path.Combine(Directory, name + ".json");

    private static string FolderOf(ConnectorKind kind) => kind switch
    {
        ConnectorKind.Storage => "stores",
        ConnectorKind.Source => "sources",
        ConnectorKind.Destination => "destinations",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "only stores, sources and destinations are named"),
    };
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(NamedConnector))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
