using System.Text.Json;

namespace Coffer.Engine.Core.Model;

/// <summary>
/// A key object (class <c>Key</c>, plaintext JSON): the store's master key wrapped under one passphrase,
/// with who made it. Named by the SHA-256 of its bytes, which is the key's id. See docs/store-format.md.
/// </summary>
internal sealed record StoreKeyObject
{
    public DateTimeOffset Created { get; init; }

    public string? Hostname { get; init; }

    public string? Username { get; init; }

    public required KdfParameters Kdf { get; init; }

    /// <summary>nonce ‖ AES-256-GCM(KEK, master key) ‖ tag, with <c>coffer key v1 &lt;store id&gt;</c> as associated data.</summary>
    public required byte[] WrappedKey { get; init; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, BackupJsonContext.Default.StoreKeyObject);

    public static StoreKeyObject Parse(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, BackupJsonContext.Default.StoreKeyObject) ?? throw new JsonException("the key object is null");
}
