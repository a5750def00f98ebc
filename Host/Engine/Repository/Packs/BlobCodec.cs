using System.Security.Cryptography;
using Coffer.Engine.Core;
using Coffer.Engine.Repository.Crypto;

namespace Coffer.Engine.Repository.Packs;

/// <summary>
/// Turns content into the bytes a pack holds and back: a one-byte flag (0 stored, 1 zstd), the content
/// compressed when that pays, sealed with AES-256-GCM under a random nonce, the blob's type and id as
/// associated data so a blob cannot be moved under another name. Buffers come from the shared pool.
/// </summary>
internal sealed class BlobCodec
{
    private const byte Stored = 0;
    private const byte Zstd = 1;

    private readonly StoreKeys _keys;
    private readonly ZstdCodec _zstd;

    public BlobCodec(StoreKeys keys, int compressionLevel)
        : this(keys, ZstdCodec.Create(compressionLevel))
    {
    }

    /// <summary>A codec on the given zstd implementation (tests and measurements pick one).</summary>
    internal BlobCodec(StoreKeys keys, ZstdCodec zstd)
    {
        _keys = keys;
        _zstd = zstd;
    }

    public StoreKeys Keys => _keys;

    /// <summary>
    /// Encodes a blob into one pooled buffer, sealed in place (nonce ‖ flag ‖ body ‖ tag), so each blob in
    /// flight costs one buffer the size of its content. The caller returns <c>Buffer</c> to the shared pool.
    /// </summary>
    public (byte[] Buffer, int Length) Encode(BlobType type, BlobId id, ReadOnlySpan<byte> content)
    {
        var start = _keys.IsEncrypted ? StoreKeys.NonceSize : 0;
        var buffer = BlobBuffers.Pool.Rent(start + 1 + content.Length + StoreKeys.TagSize);
        try
        {
            // Keep compression only when it saves at least 1/32: below that, decompression time buys nothing.
            // Compressing into no more room than that makes zstd give up early on incompressible data.
            var body = buffer.AsSpan(start + 1, content.Length - (content.Length >> 5));
            var compressed = false;
            var bodyLength = 0;
            if (content.Length >= 64)
            {
                compressed = _zstd.TryCompress(content, body, out bodyLength) && bodyLength < body.Length;
            }

            if (compressed)
            {
                buffer[start] = Zstd;
            }
            else
            {
                buffer[start] = Stored;
                content.CopyTo(buffer.AsSpan(start + 1));
                bodyLength = content.Length;
            }

            var length = 1 + bodyLength;
            if (_keys.IsEncrypted)
            {
                Span<byte> aad = stackalloc byte[1 + BlobId.Size];
                WriteAssociatedData(aad, type, id);
                length = _keys.SealInPlace(buffer, length, aad);
            }

            return (buffer, length);
        }
        catch
        {
            BlobBuffers.Pool.Return(buffer);
            throw;
        }
    }

    /// <summary>
    /// Decodes a blob into <paramref name="destination"/> (at least <paramref name="rawLength"/> long) and
    /// checks its id; a blob that was altered, or is not the one asked for, is a <see cref="DamagedBlobException"/>.
    /// </summary>
    public void Decode(BlobType type, BlobId id, Span<byte> sealedBytes, int rawLength, Span<byte> destination)
    {
        // Opened in place: the sealed bytes become the payload, saving a buffer and a copy per blob.
        Span<byte> payload;
        try
        {
            Span<byte> aad = stackalloc byte[1 + BlobId.Size];
            WriteAssociatedData(aad, type, id);
            payload = _keys.OpenInPlace(sealedBytes, aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new DamagedBlobException(id, "fails authentication");
        }

        if (payload.Length < 1)
        {
            throw new DamagedBlobException(id, "is empty");
        }

        var body = payload[1..];
        int length;
        switch (payload[0])
        {
            case Stored:
                length = body.Length;
                if (length != rawLength)
                {
                    throw new DamagedBlobException(id, "has the wrong length");
                }

                body.CopyTo(destination);
                break;
            case Zstd:
                if (!_zstd.TryDecompress(body, destination[..rawLength], out length))
                {
                    throw new DamagedBlobException(id, "does not decompress");
                }

                break;
            default:
                throw new DamagedBlobException(id, "has an unknown encoding");
        }

        if (length != rawLength || _keys.ComputeId(destination[..length]) != id)
        {
            throw new DamagedBlobException(id, "does not match its id");
        }
    }

    private static void WriteAssociatedData(Span<byte> aad, BlobType type, BlobId id)
    {
        aad[0] = (byte)type;
        id.WriteTo(aad[1..]);
    }
}

/// <summary>A blob read from the store is not what was written.</summary>
internal sealed class DamagedBlobException : StoreException
{
    public DamagedBlobException(BlobId id, string what) : base($"blob {id} {what}") => Id = id;

    public DamagedBlobException(BlobId id, string what, Exception innerException) : base($"blob {id} {what}", innerException) => Id = id;

    public BlobId Id { get; }
}
