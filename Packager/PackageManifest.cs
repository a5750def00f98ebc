using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Coffer.Abstractions;
using Coffer.Packager.Internal;

namespace Coffer.Packager;

/// <summary>The manifest of a package: what it is, what it provides, and every file it holds. See docs/ptar-format.md.</summary>
public sealed partial record PackageManifest
{
    /// <summary>The manifest format this code writes.</summary>
    public const int CurrentFormat = 1;

    /// <summary>The file name of the manifest inside a package and an installed package directory.</summary>
    public const string FileName = "manifest.json";

    /// <summary>The manifest format version.</summary>
    public int Format { get; init; } = CurrentFormat;

    /// <summary>The package name: <c>[a-z0-9-]</c>, 1 to 64 characters.</summary>
    public required string Name { get; init; }

    /// <summary>The package version (semver).</summary>
    public required string Version { get; init; }

    /// <summary>One line about the package.</summary>
    public string Description { get; init; } = "";

    /// <summary>The license (SPDX expression).</summary>
    public string License { get; init; } = "";

    /// <summary>Where to read more.</summary>
    public string Homepage { get; init; } = "";

    /// <summary>The contracts ABI (major.minor) the plugin was built against.</summary>
    public required string Abi { get; init; }

    /// <summary>The operating system: <c>linux</c>, <c>darwin</c>, <c>windows</c>, or <c>any</c>.</summary>
    public required string Os { get; init; }

    /// <summary>The architecture: <c>amd64</c>, <c>arm64</c>, or <c>any</c>.</summary>
    public required string Arch { get; init; }

    /// <summary>The entry assembly's file name, relative to the package root.</summary>
    public required string Entry { get; init; }

    /// <summary>The connectors the package provides.</summary>
    public IReadOnlyList<ConnectorManifest> Connectors { get; init; } = [];

    /// <summary>Every file of the package with its size and SHA-256.</summary>
    public IReadOnlyList<FileManifest> Files { get; init; } = [];

    /// <summary>Reads a manifest from JSON.</summary>
    /// <param name="json">The UTF-8 JSON.</param>
    /// <returns>The manifest.</returns>
    /// <exception cref="JsonException">Malformed JSON or missing required members.</exception>
    public static PackageManifest Parse(ReadOnlySpan<byte> json) => ManifestReader.Read(json);

    /// <summary>Tells whether a package name is acceptable: <c>[a-z0-9-]</c>, 1 to 64 characters, not starting or ending with '-'.</summary>
    /// <param name="name">The name.</param>
    /// <returns>True when acceptable.</returns>
    public static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>Tells whether a version is a semantic version (semver.org 2.0.0).</summary>
    /// <param name="version">The version.</param>
    /// <returns>True when acceptable.</returns>
    public static bool IsValidVersion(string? version) => version is not null && SemverPattern().IsMatch(version);

    /// <summary>The ABI as a version, or null when <see cref="Abi"/> is not <c>major.minor</c>.</summary>
    [JsonIgnore]
    public Version? AbiVersion => AbiPattern().IsMatch(Abi ?? "") && System.Version.TryParse(Abi, out var v) ? v : null;

    /// <summary>
    /// Checks everything a manifest promises on its own: name, version, ABI, platform, entry, connectors
    /// and file list. It does not look at the files themselves.
    /// </summary>
    /// <param name="source">Names the package in the message (e.g. its file name).</param>
    /// <exception cref="PackageException">The first problem found, as one line.</exception>
    public void Validate(string source)
    {
        PackageException Invalid(string what) => new($"{source}: {what} in {FileName}: rebuild the package with 'coffer pkg build'");

        if (Format != CurrentFormat)
        {
            throw new PackageException($"{source}: manifest format {Format} is not supported (this coffer reads format {CurrentFormat}): install a coffer that reads it");
        }

        if (!IsValidName(Name))
        {
            throw Invalid($"invalid package name '{PackagePath.Printable(Name ?? "")}' (lower-case letters, digits and '-', at most 64)");
        }

        if (!IsValidVersion(Version))
        {
            throw Invalid($"invalid version '{PackagePath.Printable(Version ?? "")}' (a semantic version such as 1.2.3)");
        }

        if (AbiVersion is null)
        {
            throw Invalid($"invalid abi '{PackagePath.Printable(Abi ?? "")}' (MAJOR.MINOR)");
        }

        if (!PlatformPattern().IsMatch(Os ?? "") || !PlatformPattern().IsMatch(Arch ?? ""))
        {
            throw Invalid($"invalid os/arch '{PackagePath.Printable($"{Os}/{Arch}")}' (lower-case words such as linux/amd64 or any/any)");
        }

        var files = Files ?? [];
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in files)
        {
            var path = file?.Path ?? "";
            if (file is null || PackagePath.Problem(path) is { } problem)
            {
                throw Invalid($"a file with {PackagePath.Problem(path)}: '{PackagePath.Printable(path)}'");
            }

            // Case-insensitive: two names that differ only in case collide on macOS and Windows file systems.
            if (!seen.Add(path) || string.Equals(file.Path, FileName, StringComparison.OrdinalIgnoreCase))
            {
                throw Invalid($"file '{PackagePath.Printable(file.Path)}' listed twice");
            }

            if (file.Size < 0 || file.Sha256 is null || !Sha256Pattern().IsMatch(file.Sha256))
            {
                throw Invalid($"file '{PackagePath.Printable(file.Path)}' without a valid size and lower-case hex sha256");
            }
        }

        foreach (var file in files)
        {
            if (PackagePath.Parents(file.Path).FirstOrDefault(seen.Contains) is { } parent)
            {
                throw Invalid($"file '{PackagePath.Printable(file.Path)}' inside '{PackagePath.Printable(parent)}', which is a file");
            }
        }

        if (string.IsNullOrEmpty(Entry) || !files.Any(f => f.Path == Entry) || !Entry.EndsWith(".dll", StringComparison.Ordinal))
        {
            throw Invalid($"entry '{PackagePath.Printable(Entry ?? "")}' that is not a listed .dll");
        }

        var connectors = Connectors ?? [];
        if (connectors.Count == 0)
        {
            throw Invalid("no connectors");
        }

        foreach (var connector in connectors)
        {
            if (connector is null || !Enum.IsDefined(connector.Kind) || !SchemePattern().IsMatch(connector.Scheme ?? ""))
            {
                throw Invalid($"a connector with an invalid kind or scheme '{PackagePath.Printable(connector?.Scheme ?? "")}'");
            }
        }

        if (connectors.GroupBy(c => (c.Kind, c.Scheme)).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw Invalid($"the {twice.Key.Kind.ToString().ToLowerInvariant()} connector '{twice.Key.Scheme}' listed twice");
        }
    }

    /// <summary>Writes the manifest as indented UTF-8 JSON.</summary>
    /// <returns>The JSON bytes.</returns>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ManifestJsonContext.Default.PackageManifest);
}

/// <summary>One connector a package provides.</summary>
/// <param name="Kind">Its kind.</param>
/// <param name="Scheme">Its scheme.</param>
/// <param name="Description">One line about it.</param>
/// <param name="Options">Its declared options.</param>
public sealed record ConnectorManifest(ConnectorKind Kind, string Scheme, string Description, IReadOnlyList<ConnectorOption> Options)
{
    /// <summary>Describes a connector from its factory's descriptor.</summary>
    /// <param name="descriptor">The descriptor.</param>
    /// <returns>The manifest entry.</returns>
    public static ConnectorManifest From(ConnectorDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        return new(descriptor.Kind, descriptor.Scheme, descriptor.Description, descriptor.Options);
    }
}

/// <summary>One file of a package.</summary>
/// <param name="Path">Its path relative to the package root, with <c>/</c>.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Sha256">The lower-case hex SHA-256 of its content.</param>
public sealed record FileManifest(string Path, long Size, string Sha256);

/// <summary>The patterns of the manifest's fields.</summary>
public sealed partial record PackageManifest
{
    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    // semver.org's own expression, anchored and without named groups.
    [GeneratedRegex(@"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$", RegexOptions.CultureInvariant)]
    private static partial Regex SemverPattern();

    [GeneratedRegex("^(0|[1-9][0-9]{0,4})\\.(0|[1-9][0-9]{0,4})$", RegexOptions.CultureInvariant)]
    private static partial Regex AbiPattern();

    [GeneratedRegex("^[a-z0-9]{1,16}$", RegexOptions.CultureInvariant)]
    private static partial Regex PlatformPattern();

    [GeneratedRegex("^[a-z][a-z0-9+.-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemePattern();

    [GeneratedRegex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Pattern();
}

/// <summary>What <c>coffer pkg list --json</c> prints for each package: the manifest without its file list, and where it is.</summary>
internal sealed record PackageListing(
    string Name,
    string Version,
    string Description,
    string License,
    string Homepage,
    string Abi,
    string Os,
    string Arch,
    string Entry,
    string Directory,
    IReadOnlyList<ConnectorManifest> Connectors);

// Kinds are written in lower case ("volume"), as the format document spells them; reading ignores case.
internal sealed class ConnectorKindJsonConverter() : JsonStringEnumConverter<ConnectorKind>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false);

[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    Converters = [typeof(ConnectorKindJsonConverter)],
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(PackageManifest))]
[JsonSerializable(typeof(List<PackageListing>))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
