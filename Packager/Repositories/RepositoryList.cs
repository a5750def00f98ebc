using System.Globalization;
using System.Text.Json;
using Coffer.Plumbing;

namespace Coffer.Packager.Repositories;

/// <summary>A configured repository: a directory, an <c>http(s)://</c> URL or a connector location, with connector options.</summary>
/// <param name="Name">The name the user gave it.</param>
/// <param name="Location">Where it is.</param>
/// <param name="Options">Connector options (for a <c>scheme://</c> location), as named stores take them.</param>
public sealed record RepositoryDefinition(string Name, string Location, IReadOnlyDictionary<string, string> Options)
{
    /// <summary>What kind of location <see cref="Location"/> is.</summary>
    public RepositoryLocationKind Kind => KindOf(Location);

    /// <summary>Tells a directory from a URL from a connector location.</summary>
    /// <param name="location">The location.</param>
    /// <returns>Its kind.</returns>
    public static RepositoryLocationKind KindOf(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return RepositoryLocationKind.Http;
        }

        var separator = location.IndexOf("://", StringComparison.Ordinal);
        return separator > 0 && !location.StartsWith("fs://", StringComparison.Ordinal) ? RepositoryLocationKind.Connector : RepositoryLocationKind.Directory;
    }
}

/// <summary>The kinds of repository location.</summary>
public enum RepositoryLocationKind
{
    /// <summary>A local or shared directory.</summary>
    Directory,

    /// <summary>A web server (read-only).</summary>
    Http,

    /// <summary>A storage connector location such as <c>azblob://container/prefix</c>, reached through the plugin's source and destination connectors.</summary>
    Connector,
}

/// <summary>
/// The configured repositories (<c>repositories/NAME.json</c> in the configuration directory, mode 0600 as
/// they may hold connector secrets) and the highest index version seen of each (<c>repositories/NAME.version</c>
/// in the data directory, the client's defence against rollback).
/// </summary>
/// <param name="paths">Where coffer keeps its files.</param>
public sealed class RepositoryList(CofferPaths paths)
{
    private const string Folder = "repositories";
    private const UnixFileMode PrivateDirectory = DurableFile.Private | UnixFileMode.UserExecute;

    private readonly string _configDirectory = Path.Combine((paths ?? throw new ArgumentNullException(nameof(paths))).ConfigDirectory, Folder);
    private readonly string _stateDirectory = Path.Combine(paths.DataDirectory, Folder);

    /// <summary>Tells whether a repository name is acceptable: letters, digits, '-', '_' and '.', not starting with '.'.</summary>
    /// <param name="name">The name.</param>
    /// <returns>True when acceptable.</returns>
    public static bool IsValidName(string name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 64 && name[0] != '.' && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>The configured repositories, by name.</summary>
    /// <returns>The repositories.</returns>
    public IReadOnlyList<RepositoryDefinition> List() =>
        Directory.Exists(_configDirectory)
            ? Directory.EnumerateFiles(_configDirectory, "*.json").Select(Path.GetFileNameWithoutExtension).Where(n => IsValidName(n!))
                .Order(StringComparer.Ordinal).Select(n => Get(n!)).ToList()
            : [];

    /// <summary>A repository by name.</summary>
    /// <param name="name">Its name.</param>
    /// <returns>The repository.</returns>
    /// <exception cref="PackageException">There is none of that name, or its file is damaged.</exception>
    public RepositoryDefinition Get(string name)
    {
        var path = Path.Combine(_configDirectory, name + ".json");
        if (!IsValidName(name) || !File.Exists(path))
        {
            throw new PackageException($"no repository named '{name}': see 'coffer pkg repo list', add one with 'coffer pkg repo add {name} LOCATION'");
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("options", out var o) && o.ValueKind == JsonValueKind.Object)
            {
                foreach (var option in o.EnumerateObject())
                {
                    options[option.Name] = option.Value.GetString() ?? "";
                }
            }

            return new RepositoryDefinition(name, root.GetProperty("location").GetString() ?? throw new JsonException("no location"), options);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new PackageException($"{path} is not a valid repository definition: remove it with 'coffer pkg repo remove {name}' and add it again", e);
        }
    }

    /// <summary>Adds a repository.</summary>
    /// <param name="repository">The repository.</param>
    /// <exception cref="PackageException">The name is invalid or taken.</exception>
    public void Add(RepositoryDefinition repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        if (!IsValidName(repository.Name))
        {
            throw new PackageException($"'{repository.Name}' is not a valid repository name: use letters, digits, '-', '_' and '.'");
        }

        var path = Path.Combine(_configDirectory, repository.Name + ".json");
        if (File.Exists(path))
        {
            throw new PackageException($"a repository named '{repository.Name}' already exists: remove it first with 'coffer pkg repo remove {repository.Name}'");
        }

        Directory.CreateDirectory(_configDirectory, PrivateDirectory);
        DurableFile.Write(path, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            writer.WriteStartObject();
            writer.WriteString("location", repository.Location);
            writer.WriteStartObject("options");
            foreach (var (key, value) in repository.Options)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }, DurableFile.Private);
    }

    /// <summary>Removes a repository and what was remembered of it.</summary>
    /// <param name="name">Its name.</param>
    /// <exception cref="PackageException">There is none of that name.</exception>
    public void Remove(string name)
    {
        Get(name);
        File.Delete(Path.Combine(_configDirectory, name + ".json"));
        DurableFile.TryDelete(StatePath(name));
    }

    /// <summary>The highest index version seen from a repository, 0 when none.</summary>
    /// <param name="name">The repository's name.</param>
    /// <returns>The version.</returns>
    public long HighestSeen(string name) =>
        File.Exists(StatePath(name)) && long.TryParse(File.ReadAllText(StatePath(name)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version : 0;

    /// <summary>Remembers an index version when it is higher than any seen.</summary>
    /// <param name="name">The repository's name.</param>
    /// <param name="version">The version just verified.</param>
    public void RememberSeen(string name, long version)
    {
        if (version <= HighestSeen(name))
        {
            return;
        }

        Directory.CreateDirectory(_stateDirectory);
        DurableFile.Write(StatePath(name), stream => stream.Write(System.Text.Encoding.ASCII.GetBytes(version.ToString(CultureInfo.InvariantCulture) + "\n")));
    }

    private string StatePath(string name) => Path.Combine(_stateDirectory, name + ".version");
}
