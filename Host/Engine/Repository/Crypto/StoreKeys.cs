using System.Security.Cryptography;
using System.Text;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using NSec.Cryptography;

namespace Coffer.Engine.Repository.Crypto;

/// <summary>
/// The keys of an open store, all derived from one 32-byte master key with HKDF-SHA256:
/// the MAC key that names blobs, the AEAD key that seals them, and the chunker key the gear table comes from.
/// A plaintext store has the MAC and chunker keys but no AEAD key.
/// </summary>
internal sealed class StoreKeys
{
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;

    /// <summary>Set by tests only: a cheap Argon2id cost for new stores, so a test suite is not minutes of KDF.</summary>
    public const string TestKdfVariable = "COFFER_TEST_WEAK_KDF";

    /// <summary>New stores' Argon2id memory; with one lane and <see cref="DefaultKdfIterations"/> (docs/decisions.md).</summary>
    public const int DefaultKdfMemoryKib = 64 * 1024;

    /// <summary>New stores' Argon2id passes.</summary>
    public const int DefaultKdfIterations = 3;

    // libsodium takes exactly this salt size and one lane; other costs (stores made before it, with two
    // lanes) go through the managed implementation, which computes the same function.
    private const int NativeSaltSize = 16;

    private static readonly byte[] CanaryText = Encoding.ASCII.GetBytes("coffer store canary v1");
    private readonly byte[] _masterKey;
    private readonly byte[] _macKey;
    private readonly byte[]? _aeadKey;

    private StoreKeys(byte[] masterKey, bool encrypted)
    {
        // Kept (the sub-keys give the same power) so that a key can be added for another passphrase.
        _masterKey = (byte[])masterKey.Clone();
        _macKey = Derive(masterKey, "coffer/v1/blob-id");
        ChunkerKey = Derive(masterKey, "coffer/v1/chunker");
        _aeadKey = encrypted ? Derive(masterKey, "coffer/v1/aead") : null;
    }

    public bool IsEncrypted => _aeadKey is not null;

    public byte[] ChunkerKey { get; }

    /// <summary>The bytes sealing adds to a payload.</summary>
    public int Overhead => IsEncrypted ? NonceSize + TagSize : 0;

    /// <summary>
    /// Makes a new store's config and keys. An encrypted store's master key is wrapped in CONFIG only when
    /// <paramref name="keyInConfig"/> (a storage connector without key objects); else the caller stores a
    /// key object (<see cref="WrapForKeyObject"/>).
    /// </summary>
    public static (StoreConfig Config, StoreKeys Keys) CreateNew(string? passphrase, TimeProvider time, bool keyInConfig = false)
    {
        var masterKey = RandomNumberGenerator.GetBytes(KeySize);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var chunker = new ChunkerParameters();
        if (passphrase is null)
        {
            var plain = new StoreConfig { Id = id, Created = time.GetUtcNow(), Chunker = chunker, PlaintextKey = masterKey };
            return (plain, new StoreKeys(masterKey, encrypted: false));
        }

        var keys = new StoreKeys(masterKey, encrypted: true);
        KdfParameters? kdf = null;
        byte[]? wrapped = null;
        if (keyInConfig)
        {
            kdf = NewKdfParameters();
            wrapped = Wrap(passphrase, kdf, masterKey, Encoding.ASCII.GetBytes(id));
        }

        var config = new StoreConfig
        {
            Id = id,
            Created = time.GetUtcNow(),
            Chunker = chunker,
            Encryption = new EncryptionParameters { Kdf = kdf, WrappedKey = wrapped, Canary = keys.SealObject(CanaryText, "canary") },
        };
        CryptographicOperations.ZeroMemory(masterKey);
        return (config, keys);
    }

    /// <summary>Opens a store's keys with the key in its CONFIG (or a plaintext store's); a wrong passphrase is a <see cref="WrongPassphraseException"/>.</summary>
    public static StoreKeys Open(StoreConfig config, Func<string> passphrase)
    {
        if (config.Encryption is null)
        {
            return new StoreKeys(config.PlaintextKey ?? throw new StoreFormatException("CONFIG of a plaintext store lacks its key"), encrypted: false);
        }

        CheckAlgorithms(config);
        var encryption = config.Encryption;
        if (encryption.Kdf is null || encryption.WrappedKey is null)
        {
            throw new StoreFormatException("CONFIG holds no key: the store keeps its keys as key objects");
        }

        return TryUnwrap(config, encryption.Kdf, encryption.WrappedKey, Encoding.ASCII.GetBytes(config.Id), passphrase())
            ?? throw new WrongPassphraseException();
    }

    /// <summary>Refuses an encrypted store whose algorithms this coffer does not implement.</summary>
    public static void CheckAlgorithms(StoreConfig config)
    {
        if (config.Encryption is { } encryption && (encryption.Algorithm != "aes-256-gcm" || encryption.Kdf is { Algorithm: not "argon2id" }))
        {
            throw new StoreFormatException($"unsupported encryption {encryption.Algorithm}/{encryption.Kdf?.Algorithm}");
        }
    }

    /// <summary>
    /// Unwraps a master key with <paramref name="passphrase"/> and proves it against the store's canary;
    /// null when the passphrase is not this wrapping's.
    /// </summary>
    public static StoreKeys? TryUnwrap(StoreConfig config, KdfParameters kdf, byte[] wrappedKey, ReadOnlySpan<byte> associatedData, string passphrase)
    {
        var canary = config.Encryption?.Canary ?? throw new StoreFormatException("CONFIG of an encrypted store lacks its canary");
        CheckKdfCost(kdf);
        var kek = DeriveKeyEncryptionKey(passphrase, kdf);
        byte[] masterKey;
        try
        {
            masterKey = Open(kek, wrappedKey, associatedData);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }

        var keys = new StoreKeys(masterKey, encrypted: true);
        CryptographicOperations.ZeroMemory(masterKey);
        try
        {
            if (!keys.OpenObject(canary, "canary").AsSpan().SequenceEqual(CanaryText))
            {
                throw new StoreFormatException("the store's canary does not match its key: CONFIG is damaged");
            }
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new StoreFormatException("the store's canary does not match its key: CONFIG is damaged");
        }

        return keys;
    }

    /// <summary>Wraps this store's master key under <paramref name="passphrase"/> at the cost new keys get; returns the KDF and the wrapped key.</summary>
    public (KdfParameters Kdf, byte[] WrappedKey) WrapForKeyObject(string passphrase, ReadOnlySpan<byte> associatedData)
    {
        var kdf = NewKdfParameters();
        return (kdf, Wrap(passphrase, kdf, _masterKey, associatedData));
    }

    // The cost every new wrapping gets (docs/decisions.md); tests make it cheap through TestKdfVariable.
    private static KdfParameters NewKdfParameters()
    {
        var weak = Environment.GetEnvironmentVariable(TestKdfVariable) == "1";
        return new KdfParameters
        {
            Salt = RandomNumberGenerator.GetBytes(NativeSaltSize),
            MemoryKib = weak ? 1024 : DefaultKdfMemoryKib,
            Iterations = weak ? 1 : DefaultKdfIterations,
            Parallelism = 1,
        };
    }

    private static byte[] Wrap(string passphrase, KdfParameters kdf, byte[] masterKey, ReadOnlySpan<byte> associatedData)
    {
        var kek = DeriveKeyEncryptionKey(passphrase, kdf);
        try
        {
            return Seal(kek, masterKey, associatedData);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>Computes a blob's id: HMAC-SHA256 under the MAC key (SHA-NI makes it run at GB/s).</summary>
    public BlobId ComputeId(ReadOnlySpan<byte> content)
    {
        Span<byte> mac = stackalloc byte[BlobId.Size];
        HMACSHA256.HashData(_macKey, content, mac);
        return new BlobId(mac);
    }

    /// <summary>Seals <paramref name="plaintext"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    public int Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        if (_aeadKey is null)
        {
            plaintext.CopyTo(destination);
            return plaintext.Length;
        }

        var nonce = destination[..NonceSize];
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_aeadKey, TagSize);
        aes.Encrypt(nonce, plaintext, destination.Slice(NonceSize, plaintext.Length), destination.Slice(NonceSize + plaintext.Length, TagSize), associatedData);
        return plaintext.Length + Overhead;
    }

    /// <summary>
    /// Seals the <paramref name="plaintextLength"/> bytes that follow the nonce's place in <paramref name="buffer"/>
    /// where they are: the nonce goes in front, the tag after. Returns the sealed length.
    /// </summary>
    public int SealInPlace(Span<byte> buffer, int plaintextLength, ReadOnlySpan<byte> associatedData)
    {
        var key = _aeadKey ?? throw new InvalidOperationException("a plaintext store seals nothing");
        var nonce = buffer[..NonceSize];
        RandomNumberGenerator.Fill(nonce);
        var text = buffer.Slice(NonceSize, plaintextLength);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, text, text, buffer.Slice(NonceSize + plaintextLength, TagSize), associatedData);
        return plaintextLength + Overhead;
    }

    /// <summary>Opens what <see cref="Seal(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> made; returns the plaintext length.</summary>
    /// <exception cref="AuthenticationTagMismatchException">The sealed bytes were altered.</exception>
    public int Open(ReadOnlySpan<byte> sealedBytes, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        if (_aeadKey is null)
        {
            sealedBytes.CopyTo(destination);
            return sealedBytes.Length;
        }

        if (sealedBytes.Length < Overhead)
        {
            throw new AuthenticationTagMismatchException();
        }

        var length = sealedBytes.Length - Overhead;
        using var aes = new AesGcm(_aeadKey, TagSize);
        aes.Decrypt(sealedBytes[..NonceSize], sealedBytes.Slice(NonceSize, length), sealedBytes[^TagSize..], destination[..length], associatedData);
        return length;
    }

    /// <summary>Opens sealed bytes where they are; returns the plaintext, a slice of <paramref name="sealedBytes"/>.</summary>
    /// <exception cref="AuthenticationTagMismatchException">The sealed bytes were altered.</exception>
    public Span<byte> OpenInPlace(Span<byte> sealedBytes, scoped ReadOnlySpan<byte> associatedData)
    {
        if (_aeadKey is null)
        {
            return sealedBytes;
        }

        if (sealedBytes.Length < Overhead)
        {
            throw new AuthenticationTagMismatchException();
        }

        var text = sealedBytes.Slice(NonceSize, sealedBytes.Length - Overhead);
        using var aes = new AesGcm(_aeadKey, TagSize);
        aes.Decrypt(sealedBytes[..NonceSize], text, sealedBytes[^TagSize..], text, associatedData);
        return text;
    }

    /// <summary>Seals a small object (index, snapshot, header) whole.</summary>
    public byte[] SealObject(ReadOnlySpan<byte> plaintext, string context)
    {
        var result = new byte[plaintext.Length + Overhead];
        Seal(plaintext, Encoding.ASCII.GetBytes(context), result);
        return result;
    }

    public byte[] OpenObject(ReadOnlySpan<byte> sealedBytes, string context)
    {
        var result = new byte[Math.Max(0, sealedBytes.Length - Overhead)];
        Open(sealedBytes, Encoding.ASCII.GetBytes(context), result);
        return result;
    }

    private static byte[] Derive(byte[] masterKey, string purpose) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey, KeySize, salt: [], info: Encoding.ASCII.GetBytes(purpose));

    // CONFIG and key objects are plaintext and unauthenticated until the key is unwrapped: bound what they may ask of the KDF
    // (Argon2id's own minimums, and at most 4 GiB, 64 passes, 64 lanes) before running it.
    private static void CheckKdfCost(KdfParameters kdf)
    {
        if (kdf.Salt is not { Length: >= 8 and <= 64 }
            || kdf.Parallelism is < 1 or > 64
            || kdf.Iterations is < 1 or > 64
            || kdf.MemoryKib < 8 * kdf.Parallelism || kdf.MemoryKib > 4 * 1024 * 1024)
        {
            throw new StoreFormatException(
                $"CONFIG or a key object asks for an Argon2id cost out of bounds (memory {kdf.MemoryKib} KiB, {kdf.Iterations} passes, {kdf.Parallelism} lanes, {kdf.Salt?.Length ?? 0}-byte salt): the store is damaged");
        }
    }

    /// <summary>Argon2id of <paramref name="passphrase"/> under <paramref name="kdf"/>: 32 bytes.</summary>
    internal static byte[] DeriveKeyEncryptionKey(string passphrase, KdfParameters kdf) =>
        kdf.Parallelism == 1 && kdf.Salt.Length == NativeSaltSize
            ? DeriveNatively(passphrase, kdf)
            : DeriveManaged(passphrase, kdf);

    private static byte[] DeriveNatively(string passphrase, KdfParameters kdf)
    {
        var algorithm = PasswordBasedKeyDerivationAlgorithm.Argon2id(new Argon2Parameters
        {
            DegreeOfParallelism = 1,
            MemorySize = kdf.MemoryKib,
            NumberOfPasses = kdf.Iterations,
        });
        var bytes = Encoding.UTF8.GetBytes(passphrase);
        try
        {
            return algorithm.DeriveBytes(bytes, kdf.Salt, KeySize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>The managed Argon2id, for any lane count (what every store used before libsodium).</summary>
    internal static byte[] DeriveManaged(string passphrase, KdfParameters kdf)
    {
        var bytes = Encoding.UTF8.GetBytes(passphrase);
        try
        {
            using var argon = new Konscious.Security.Cryptography.Argon2id(bytes)
            {
                Salt = kdf.Salt,
                MemorySize = kdf.MemoryKib,
                Iterations = kdf.Iterations,
                DegreeOfParallelism = kdf.Parallelism,
            };
            return argon.GetBytes(KeySize);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);

            // Argon2 just filled tens of MiB on purpose: give them back before the pipeline needs memory,
            // so the process's peak is the larger of the two, not their sum.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    private static byte[] Seal(byte[] key, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var result = new byte[NonceSize + plaintext.Length + TagSize];
        RandomNumberGenerator.Fill(result.AsSpan(0, NonceSize));
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(result.AsSpan(0, NonceSize), plaintext, result.AsSpan(NonceSize, plaintext.Length), result.AsSpan(NonceSize + plaintext.Length), associatedData);
        return result;
    }

    private static byte[] Open(byte[] key, byte[] sealedBytes, ReadOnlySpan<byte> associatedData)
    {
        if (sealedBytes.Length < NonceSize + TagSize)
        {
            throw new AuthenticationTagMismatchException();
        }

        var result = new byte[sealedBytes.Length - NonceSize - TagSize];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize, result.Length), sealedBytes.AsSpan(sealedBytes.Length - TagSize), result, associatedData);
        return result;
    }
}
