using System.Text.Json;
using System.Text.Json.Serialization;

namespace Coffer.Engine.Core.Model;

/// <summary>
/// The plaintext <c>CONFIG</c> object: everything needed to open a store given its passphrase.
/// It holds no secret in the clear except, for a plaintext store, the MAC key (there is nothing to hide there).
/// See docs/store-format.md.
/// </summary>
internal sealed record StoreConfig
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public required string Id { get; init; }

    public DateTimeOffset Created { get; init; }

    public required ChunkerParameters Chunker { get; init; }

    /// <summary>How blob ids are computed from content.</summary>
    public string Mac { get; init; } = "hmac-sha256";

    public string Compression { get; init; } = "zstd";

    public int CompressionLevel { get; init; } = 2;

    /// <summary>The size a packfile is closed at (it may exceed it by one blob).</summary>
    public int PackSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>Null for a plaintext store.</summary>
    public EncryptionParameters? Encryption { get; init; }

    /// <summary>For a plaintext store only: the key material ids and chunk boundaries are derived from.</summary>
    public byte[]? PlaintextKey { get; init; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, BackupJsonContext.Default.StoreConfig);

    public static StoreConfig Parse(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, BackupJsonContext.Default.StoreConfig) ?? throw new JsonException("CONFIG is null");
}

/// <summary>FastCDC parameters; the gear table is derived from the store key, so boundaries leak nothing.</summary>
internal sealed record ChunkerParameters
{
    public string Algorithm { get; init; } = "fastcdc-keyed-gear";

    public int MinSize { get; init; } = 512 * 1024;

    public int AverageSize { get; init; } = 1024 * 1024;

    public int MaxSize { get; init; } = 8 * 1024 * 1024;
}

/// <summary>How blobs are sealed, and for stores made before key objects, the one wrapped master key.</summary>
internal sealed record EncryptionParameters
{
    public string Algorithm { get; init; } = "aes-256-gcm";

    /// <summary>The KDF of the key kept in CONFIG; null when the store keeps its keys as key objects.</summary>
    public KdfParameters? Kdf { get; init; }

    /// <summary>nonce ‖ AES-256-GCM(KEK, master key) ‖ tag, with the store id as associated data; null as <see cref="Kdf"/>.</summary>
    public byte[]? WrappedKey { get; init; }

    /// <summary>A known plaintext sealed under the data key: proves the unwrapped key is the store's.</summary>
    public required byte[] Canary { get; init; }
}

internal sealed record KdfParameters
{
    public string Algorithm { get; init; } = "argon2id";

    public required byte[] Salt { get; init; }

    public int MemoryKib { get; init; }

    public int Iterations { get; init; }

    public int Parallelism { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(StoreConfig))]
[JsonSerializable(typeof(StoreKeyObject))]
[JsonSerializable(typeof(TreeNode))]
[JsonSerializable(typeof(Snapshot))]
internal sealed partial class BackupJsonContext : JsonSerializerContext;
