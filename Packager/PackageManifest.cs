using System.Text.Json;
using System.Text.Json.Serialization;
using Coffer.Abstractions;

namespace Coffer.Packager;

/// <summary>The manifest of a package: what it is, what it provides, and every file it holds. See docs/ptar-format.md.</summary>
public sealed record PackageManifest
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
    public static PackageManifest Parse(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, ManifestJsonContext.Default.PackageManifest)
        ?? throw new JsonException("the manifest is null");

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

[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(PackageManifest))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
