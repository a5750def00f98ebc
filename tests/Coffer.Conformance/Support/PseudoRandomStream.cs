using System.Security.Cryptography;

namespace Coffer.Conformance.Support;

/// <summary>
/// A forward-only, non-seekable stream of deterministic pseudo-random bytes. It generates content on
/// the fly, so a test can push hundreds of MiB through a connector without holding them, and a
/// connector cannot cheat by asking for the length or seeking back.
/// </summary>
public sealed class PseudoRandomStream : ForwardOnlyStream
{
    private readonly long _length;
    private ulong _state;
    private ulong _pending;
    private int _pendingBytes;

    public PseudoRandomStream(long length, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _length = length;
        // xorshift must not start at zero; mixing the seed also makes nearby seeds unrelated.
        _state = (seed * 0x9E3779B97F4A7C15UL) ^ 0xD1B54A32D192ED03UL;
        if (_state == 0)
        {
            _state = 1;
        }
    }

    /// <summary>The bytes a stream of <paramref name="length"/> with <paramref name="seed"/> yields, for small test data.</summary>
    public static byte[] Bytes(int length, ulong seed)
    {
        var data = new byte[length];
        using var stream = new PseudoRandomStream(length, seed);
        stream.ReadExactly(data);
        return data;
    }

    /// <summary>The SHA-256 of the whole stream a <paramref name="length"/> and <paramref name="seed"/> yield, computed by streaming.</summary>
    public static async Task<string> Sha256Async(long length, ulong seed, CancellationToken cancellationToken = default)
    {
        await using var stream = new PseudoRandomStream(length, seed);
        return await StreamHash.Sha256Async(stream, cancellationToken);
    }

    public override int Read(Span<byte> buffer)
    {
        var count = (int)Math.Min(buffer.Length, _length - BytesRead);
        for (var i = 0; i < count; i++)
        {
            if (_pendingBytes == 0)
            {
                _state ^= _state << 13;
                _state ^= _state >> 7;
                _state ^= _state << 17;
                _pending = _state;
                _pendingBytes = 8;
            }

            buffer[i] = (byte)_pending;
            _pending >>= 8;
            _pendingBytes--;
        }

        BytesRead += count;
        return count;
    }
}

/// <summary>Hashes streams without holding them.</summary>
public static class StreamHash
{
    /// <summary>The lower-case SHA-256 hex of everything left in <paramref name="stream"/>, read with one small buffer.</summary>
    public static async Task<string> Sha256Async(Stream stream, CancellationToken cancellationToken = default)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, read);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The lower-case SHA-256 hex of a byte array.</summary>
    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
