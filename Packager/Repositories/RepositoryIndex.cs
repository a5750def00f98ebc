using System.Globalization;
using System.Text;
using System.Text.Json;
using Coffer.Packager.Signing;

namespace Coffer.Packager.Repositories;

/// <summary>
/// One package in a repository: what it is, where its file is, the file's SHA-256 and size, and the
/// publisher's signature over its manifest. The same JSON object is an entry file (<c>entries/FILE.json</c>)
/// and an element of the index's <c>packages</c>. See docs/packages.md.
/// </summary>
/// <param name="Name">The package name.</param>
/// <param name="Version">The package version.</param>
/// <param name="Os">Its operating system, or <c>any</c>.</param>
/// <param name="Arch">Its architecture, or <c>any</c>.</param>
/// <param name="Abi">The contracts ABI it was built against.</param>
/// <param name="Description">One line about it.</param>
/// <param name="File">Its path in the repository, <c>packages/NAME_vVERSION_OS_ARCH.ptar</c>.</param>
/// <param name="Size">The package file's size.</param>
/// <param name="Sha256">The package file's lower-case hex SHA-256.</param>
/// <param name="Signature">The publisher's signature over the manifest.</param>
public sealed record RepositoryEntry(
    string Name, string Version, string Os, string Arch, string Abi, string Description, string File, long Size, string Sha256, PackageSignature Signature)
{
    /// <summary>The entry for a verified package.</summary>
    /// <param name="manifest">The package's manifest.</param>
    /// <param name="size">The package file's size.</param>
    /// <param name="sha256">The package file's SHA-256, lower-case hex.</param>
    /// <param name="signature">The publisher's signature over the manifest.</param>
    /// <returns>The entry.</returns>
    public static RepositoryEntry For(PackageManifest manifest, long size, string sha256, PackageSignature signature)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return new(manifest.Name, manifest.Version, manifest.Os, manifest.Arch, manifest.Abi, manifest.Description,
            RepositoryLayout.PackagesFolder + "/" + PackageFileName.Of(manifest), size, sha256, signature);
    }

    /// <summary>The package's file name.</summary>
    public string FileName => System.IO.Path.GetFileName(File);

    internal void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("name", Name);
        writer.WriteString("version", Version);
        writer.WriteString("os", Os);
        writer.WriteString("arch", Arch);
        writer.WriteString("abi", Abi);
        writer.WriteString("description", Description);
        writer.WriteString("file", File);
        writer.WriteNumber("size", Size);
        writer.WriteString("sha256", Sha256);
        writer.WriteString("manifest_sha256", Signature.ManifestSha256);
        writer.WriteString("key", Signature.Key.Text);
        writer.WriteString("signature", Signature.Signature);
        writer.WriteEndObject();
    }

    /// <summary>The entry as a JSON document.</summary>
    /// <returns>UTF-8 JSON.</returns>
    public byte[] ToJson()
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            Write(writer);
        }

        return buffer.ToArray();
    }

    /// <summary>Reads an entry (an entry file, or one element of the index).</summary>
    /// <param name="element">The JSON object.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="FormatException">A member is missing or malformed.</exception>
    public static RepositoryEntry Read(JsonElement element)
    {
        string S(string name) => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()! : throw new FormatException($"an entry has no string '{name}'");
        if (!PublicSigningKey.TryParse(S("key"), out var key))
        {
            throw new FormatException("an entry's 'key' is not ed25519:BASE64");
        }

        var file = S("file");
        if (!file.StartsWith(RepositoryLayout.PackagesFolder + "/", StringComparison.Ordinal) || !PackageFileName.TryParse(file, out _)
            || file.Count(c => c == '/') != 1 || file.Contains("..", StringComparison.Ordinal))
        {
            throw new FormatException($"an entry's file '{file}' is not {RepositoryLayout.PackagesFolder}/NAME_vVERSION_OS_ARCH.ptar");
        }

        var size = element.TryGetProperty("size", out var sizeValue) && sizeValue.TryGetInt64(out var s) && s >= 0 ? s : throw new FormatException("an entry has no size");
        return new(S("name"), S("version"), S("os"), S("arch"), S("abi"), S("description"), file, size, S("sha256"),
            new PackageSignature(key!, S("manifest_sha256"), S("signature")));
    }
}

/// <summary>
/// A repository's index, signed: a version that only grows, an expiry, and every package. Stored as
/// <c>index.json</c> in a signed envelope (<see cref="SignedDocument"/>). See docs/packages.md.
/// </summary>
/// <param name="Version">Grows with every publish; a client refuses an index older than one it has seen.</param>
/// <param name="Expires">After this the index is refused, so a frozen repository cannot hide updates forever.</param>
/// <param name="Packages">Every published package.</param>
public sealed record RepositoryIndex(long Version, DateTimeOffset Expires, IReadOnlyList<RepositoryEntry> Packages)
{
    /// <summary>The index format this code reads and writes.</summary>
    public const int CurrentFormat = 1;

    /// <summary>The index's JSON (what the envelope signs).</summary>
    /// <returns>UTF-8 JSON.</returns>
    public byte[] ToJson()
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("format", CurrentFormat);
            writer.WriteNumber("version", Version);
            writer.WriteString("expires", Expires.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            writer.WriteStartArray("packages");
            foreach (var entry in Packages.OrderBy(p => p.File, StringComparer.Ordinal))
            {
                entry.Write(writer);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads an index's JSON.</summary>
    /// <param name="json">The signed payload.</param>
    /// <returns>The index.</returns>
    /// <exception cref="FormatException">It is not an index this coffer reads.</exception>
    public static RepositoryIndex Parse(ReadOnlyMemory<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (!root.TryGetProperty("format", out var format) || !format.TryGetInt32(out var f) || f != CurrentFormat)
            {
                throw new FormatException($"index format is not {CurrentFormat}");
            }

            var version = root.TryGetProperty("version", out var v) && v.TryGetInt64(out var n) && n > 0 ? n : throw new FormatException("no version");
            var expires = root.TryGetProperty("expires", out var e) && e.TryGetDateTimeOffset(out var at) ? at : throw new FormatException("no expiry");
            var packages = root.TryGetProperty("packages", out var p) && p.ValueKind == JsonValueKind.Array
                ? p.EnumerateArray().Select(RepositoryEntry.Read).ToList()
                : throw new FormatException("no packages");
            return new RepositoryIndex(version, expires, packages);
        }
        catch (JsonException e)
        {
            throw new FormatException(e.Message.Split('\n')[0], e);
        }
    }
}

/// <summary>
/// A signed document: a first line <c>coffer-signed KEY SIGNATURE</c>, then the payload bytes. The signature
/// is Ed25519 over a context string and the payload, so it cannot be reused for a package.
/// </summary>
public static class SignedDocument
{
    private const string Magic = "coffer-signed ";
    private static readonly byte[] Context = Encoding.ASCII.GetBytes("coffer repository index v1\n");

    /// <summary>Signs a payload.</summary>
    /// <param name="key">The signer.</param>
    /// <param name="payload">The payload.</param>
    /// <returns>The document's bytes.</returns>
    public static byte[] Sign(SigningKey key, byte[] payload)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(payload);
        var signature = key.Sign([.. Context, .. payload]);
        return [.. Encoding.ASCII.GetBytes($"{Magic}{key.PublicKey.Text} {Convert.ToBase64String(signature)}\n"), .. payload];
    }

    /// <summary>Splits a document and checks its signature.</summary>
    /// <param name="document">The document's bytes.</param>
    /// <returns>The signer and the payload; null when the document is malformed or the signature does not verify.</returns>
    public static (PublicSigningKey Key, ReadOnlyMemory<byte> Payload)? Open(byte[] document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var newline = Array.IndexOf(document, (byte)'\n');
        if (newline < 0 || newline > 512)
        {
            return null;
        }

        var header = Encoding.ASCII.GetString(document, 0, newline);
        var parts = header.Split(' ');
        var signature = new byte[64];
        if (!header.StartsWith(Magic, StringComparison.Ordinal) || parts.Length != 3 || !PublicSigningKey.TryParse(parts[1], out var key)
            || !Convert.TryFromBase64String(parts[2], signature, out var written) || written != 64)
        {
            return null;
        }

        var payload = document.AsMemory(newline + 1);
        return key!.Verifies([.. Context, .. payload.Span], signature) ? (key, payload) : null;
    }
}

/// <summary>Where things are in a repository.</summary>
public static class RepositoryLayout
{
    /// <summary>The signed index.</summary>
    public const string IndexFile = "index.json";

    /// <summary>The folder of <c>.ptar</c> files.</summary>
    public const string PackagesFolder = "packages";

    /// <summary>The folder of entry files, one per package, from which publishers rebuild the index.</summary>
    public const string EntriesFolder = "entries";

    /// <summary>The entry file of a package file.</summary>
    /// <param name="packageFileName">The package's file name.</param>
    /// <returns>The entry's path in the repository.</returns>
    public static string EntryFile(string packageFileName) => $"{EntriesFolder}/{packageFileName}.json";
}
