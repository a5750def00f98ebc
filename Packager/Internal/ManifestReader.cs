using System.Text.Json;
using Coffer.Abstractions;

namespace Coffer.Packager.Internal;

/// <summary>
/// Reads a manifest with <see cref="Utf8JsonReader"/> alone. The source-generated serializer still writes
/// manifests, but reading through it JITs and loads types on every start (its metadata is generic over
/// value types the framework's ReadyToRun image lacks): most of <c>coffer pkg list</c>'s start-up
/// (measured in docs/decisions.md). Accepts what that serializer accepts: snake_case names, unknown members skipped, kinds as
/// strings in any case, required members enforced.
/// </summary>
internal static class ManifestReader
{
    public static PackageManifest Read(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType == JsonTokenType.Null)
            {
                throw new JsonException("the manifest is null");
            }

            var manifest = ReadManifest(ref reader);
            if (reader.Read())
            {
                throw new JsonException($"unexpected {reader.TokenType} after the manifest");
            }

            return manifest;
        }
        catch (InvalidOperationException e)
        {
            // GetString's answer to invalid UTF-8; the serializer reported it as malformed JSON too.
            throw new JsonException(e.Message, e);
        }
    }

    private static PackageManifest ReadManifest(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject, "the manifest");
        int format = PackageManifest.CurrentFormat;
        string? name = null, version = null, abi = null, os = null, arch = null, entry = null;
        string description = "", license = "", homepage = "";
        IReadOnlyList<ConnectorManifest> connectors = [];
        IReadOnlyList<FileManifest> files = [];
        bool hasName = false, hasVersion = false, hasAbi = false, hasOs = false, hasArch = false, hasEntry = false;
        while (NextMember(ref reader) is { } member)
        {
            switch (member)
            {
                case "format": format = Int32(ref reader, member); break;
                case "name": name = String(ref reader, member); hasName = true; break;
                case "version": version = String(ref reader, member); hasVersion = true; break;
                case "description": description = String(ref reader, member)!; break;
                case "license": license = String(ref reader, member)!; break;
                case "homepage": homepage = String(ref reader, member)!; break;
                case "abi": abi = String(ref reader, member); hasAbi = true; break;
                case "os": os = String(ref reader, member); hasOs = true; break;
                case "arch": arch = String(ref reader, member); hasArch = true; break;
                case "entry": entry = String(ref reader, member); hasEntry = true; break;
                case "connectors": connectors = Array(ref reader, member, ReadConnector)!; break;
                case "files": files = Array(ref reader, member, ReadFile)!; break;
                default: reader.Skip(); break;
            }
        }

        Require(hasName, "name", "the manifest");
        Require(hasVersion, "version", "the manifest");
        Require(hasAbi, "abi", "the manifest");
        Require(hasOs, "os", "the manifest");
        Require(hasArch, "arch", "the manifest");
        Require(hasEntry, "entry", "the manifest");
        return new PackageManifest
        {
            Format = format,
            Name = name!,
            Version = version!,
            Description = description,
            License = license,
            Homepage = homepage,
            Abi = abi!,
            Os = os!,
            Arch = arch!,
            Entry = entry!,
            Connectors = connectors,
            Files = files,
        };
    }

    private static ConnectorManifest? ReadConnector(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartObject, "a connector");
        ConnectorKind? kind = null;
        string? scheme = null, description = null;
        IReadOnlyList<ConnectorOption>? options = null;
        bool hasScheme = false, hasDescription = false, hasOptions = false;
        while (NextMember(ref reader) is { } member)
        {
            switch (member)
            {
                case "kind": kind = Kind(ref reader); break;
                case "scheme": scheme = String(ref reader, member); hasScheme = true; break;
                case "description": description = String(ref reader, member); hasDescription = true; break;
                case "options": options = Array(ref reader, member, ReadOption); hasOptions = true; break;
                default: reader.Skip(); break;
            }
        }

        Require(kind is not null, "kind", "a connector");
        Require(hasScheme, "scheme", "a connector");
        Require(hasDescription, "description", "a connector");
        Require(hasOptions, "options", "a connector");
        return new ConnectorManifest(kind!.Value, scheme!, description!, options!);
    }

    private static ConnectorOption? ReadOption(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartObject, "an option");
        string? name = null, description = null, defaultValue = null;
        bool required = false, secret = false, hasName = false, hasDescription = false;
        while (NextMember(ref reader) is { } member)
        {
            switch (member)
            {
                case "name": name = String(ref reader, member); hasName = true; break;
                case "description": description = String(ref reader, member); hasDescription = true; break;
                case "required": required = Boolean(ref reader, member); break;
                case "secret": secret = Boolean(ref reader, member); break;
                case "default_value": defaultValue = String(ref reader, member); break;
                default: reader.Skip(); break;
            }
        }

        Require(hasName, "name", "an option");
        Require(hasDescription, "description", "an option");
        return new ConnectorOption(name!, description!, required, secret, defaultValue);
    }

    private static FileManifest? ReadFile(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartObject, "a file");
        string? path = null, sha256 = null;
        long? size = null;
        bool hasPath = false, hasSha256 = false;
        while (NextMember(ref reader) is { } member)
        {
            switch (member)
            {
                case "path": path = String(ref reader, member); hasPath = true; break;
                case "size": size = Int64(ref reader, member); break;
                case "sha256": sha256 = String(ref reader, member); hasSha256 = true; break;
                default: reader.Skip(); break;
            }
        }

        Require(hasPath, "path", "a file");
        Require(size is not null, "size", "a file");
        Require(hasSha256, "sha256", "a file");
        return new FileManifest(path!, size!.Value, sha256!);
    }

    private delegate T? ElementReader<T>(ref Utf8JsonReader reader);

    private static List<T>? Array<T>(ref Utf8JsonReader reader, string member, ElementReader<T> element)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray, member);
        var items = new List<T>();
        while (Advance(ref reader) != JsonTokenType.EndArray)
        {
            items.Add(element(ref reader)!);
        }

        return items;
    }

    // The member's name, with the reader on its value; null at the end of the object.
    private static string? NextMember(ref Utf8JsonReader reader)
    {
        if (Advance(ref reader) == JsonTokenType.EndObject)
        {
            return null;
        }

        var name = reader.GetString();
        Advance(ref reader);
        return name;
    }

    private static JsonTokenType Advance(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("the manifest ends early");

    private static string? String(ref Utf8JsonReader reader, string member) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw Mistyped(member, "a string", reader.TokenType),
    };

    private static bool Boolean(ref Utf8JsonReader reader, string member) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw Mistyped(member, "true or false", reader.TokenType),
    };

    private static int Int32(ref Utf8JsonReader reader, string member) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : throw Mistyped(member, "an integer", reader.TokenType);

    private static long Int64(ref Utf8JsonReader reader, string member) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) ? value : throw Mistyped(member, "an integer", reader.TokenType);

    private static ConnectorKind Kind(ref Utf8JsonReader reader)
    {
        // A name in any case, never a number or a list (Enum.TryParse would take "2" and "source,storage").
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return text is { Length: > 0 } && text.All(char.IsAsciiLetter) && Enum.TryParse<ConnectorKind>(text, ignoreCase: true, out var kind) && Enum.IsDefined(kind)
            ? kind
            : throw new JsonException($"a connector's kind must be one of {string.Join(", ", Enum.GetNames<ConnectorKind>()).ToLowerInvariant()}");
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"{what} must be {(type == JsonTokenType.StartArray ? "an array" : "an object")}, not {reader.TokenType}");
        }
    }

    private static void Require(bool present, string member, string where)
    {
        if (!present)
        {
            throw new JsonException($"{where} lacks its required member '{member}'");
        }
    }

    private static JsonException Mistyped(string member, string expected, JsonTokenType actual) =>
        new($"'{member}' must be {expected}, not {actual}");
}
