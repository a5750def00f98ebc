using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Coffer.Engine.Core;
using Coffer.Engine.Repository;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Core.Chunking;
using Coffer.Engine.Repository.Crypto;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository.Packs;
using ZstdSharp;

namespace Coffer.Bench.Micro;

/// <summary>
/// The engine's chunker, blob-id MAC, compression and encryption over one 16 MiB buffer, each beside the
/// raw primitive on the same bytes, so the ratio tells how close to the limit each path runs. bench/run
/// pairs them by method name (bench/README.md).
/// </summary>
[MemoryDiagnoser]
public class EnginePaths : IDisposable
{
    /// <summary>The bytes every benchmark processes.</summary>
    public const int BufferSize = 16 << 20;

    private byte[] _data = [];
    private byte[] _output = [];
    private int[] _chunkLengths = [];
    private FastCdc _chunker = null!;
    private StoreKeys _encrypted = null!;
    private BlobCodec _compressing = null!;
    private Compressor _zstd = null!;
    private AesGcm _aes = null!;
    private readonly byte[] _macKey = RandomNumberGenerator.GetBytes(32);

    /// <summary>Loads the buffer and the keys, and cuts the buffer once so per-chunk paths see the engine's chunks.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _data = RealisticData(BufferSize);
        _output = new byte[BufferSize + (BufferSize >> 4)];
        Environment.SetEnvironmentVariable(StoreKeys.TestKdfVariable, "1"); // the KDF is not measured here
        (_, _encrypted) = StoreKeys.CreateNew("bench", TimeProvider.System);
        var (_, plaintext) = StoreKeys.CreateNew(null, TimeProvider.System);
        _chunker = new FastCdc(new ChunkerParameters(), _encrypted.ChunkerKey);
        var level = new StoreConfig { Id = "0", Created = DateTimeOffset.UnixEpoch, Chunker = new ChunkerParameters() }.CompressionLevel;
        _compressing = new BlobCodec(plaintext, level);
        _zstd = new Compressor(level);
        _aes = new AesGcm(RandomNumberGenerator.GetBytes(32), StoreKeys.TagSize);
        var lengths = new List<int>();
        for (var at = 0; at < _data.Length;)
        {
            var n = _chunker.NextBoundary(_data.AsSpan(at, Math.Min(_data.Length - at, _chunker.MaxSize)));
            lengths.Add(n);
            at += n;
        }

        _chunkLengths = [.. lengths];
    }

    /// <summary>Frees the native contexts.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _zstd?.Dispose();
        _aes?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Engine: FastCDC boundaries over the buffer.</summary>
    [Benchmark]
    public int Chunker()
    {
        var count = 0;
        for (var at = 0; at < _data.Length; count++)
        {
            at += _chunker.NextBoundary(_data.AsSpan(at, Math.Min(_data.Length - at, _chunker.MaxSize)));
        }

        return count;
    }

    /// <summary>Primitive: copying the buffer, what touching every byte once costs.</summary>
    [Benchmark]
    public void Memcpy() => _data.AsSpan().CopyTo(_output);

    /// <summary>Primitive: XxHash3 of the buffer, a fast hash that reads every byte.</summary>
    [Benchmark]
    public ulong XxHash3Hash() => XxHash3.HashToUInt64(_data);

    /// <summary>Engine: the blob id (keyed HMAC-SHA256) of every chunk.</summary>
    [Benchmark]
    public int BlobIdMac()
    {
        var hash = 0;
        foreach (var (start, length) in Chunks())
        {
            hash ^= _encrypted.ComputeId(_data.AsSpan(start, length)).GetHashCode();
        }

        return hash;
    }

    /// <summary>Primitive: SHA-256 of the whole buffer in one call.</summary>
    [Benchmark]
    public byte[] Sha256() => SHA256.HashData(_data);

    /// <summary>Primitive: HMAC-SHA256 of the whole buffer in one call.</summary>
    [Benchmark]
    public byte[] HmacSha256() => HMACSHA256.HashData(_macKey, _data);

    /// <summary>Engine: compressing every chunk into a blob (plaintext store: compression, flag and copy, no sealing).</summary>
    [Benchmark]
    public long Compression()
    {
        long total = 0;
        foreach (var (start, length) in Chunks())
        {
            var content = _data.AsSpan(start, length);
            var (buffer, written) = _compressing.Encode(BlobType.Data, default, content);
            total += written;
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return total;
    }

    /// <summary>Primitive: ZstdSharp compressing the same chunks at the same level with one reused context.</summary>
    [Benchmark]
    public long ZstdRaw()
    {
        long total = 0;
        foreach (var (start, length) in Chunks())
        {
            total += _zstd.Wrap(_data.AsSpan(start, length), _output);
        }

        return total;
    }

    /// <summary>Engine: sealing every chunk with AES-256-GCM (random nonce, associated data) as blobs are.</summary>
    [Benchmark]
    public int Encryption()
    {
        ReadOnlySpan<byte> aad = stackalloc byte[1 + BlobId.Size];
        var written = 0;
        foreach (var (start, length) in Chunks())
        {
            written += _encrypted.Seal(_data.AsSpan(start, length), aad, _output.AsSpan(start));
        }

        return written;
    }

    /// <summary>Primitive: AES-256-GCM over the whole buffer in one call.</summary>
    [Benchmark]
    public void AesGcmRaw()
    {
        Span<byte> nonce = stackalloc byte[StoreKeys.NonceSize];
        Span<byte> tag = stackalloc byte[StoreKeys.TagSize];
        _aes.Encrypt(nonce, _data, _output.AsSpan(0, _data.Length), tag);
    }

    private IEnumerable<(int Start, int Length)> Chunks()
    {
        var at = 0;
        foreach (var length in _chunkLengths)
        {
            yield return (at, length);
            at += length;
        }
    }

    // Real files rather than random bytes: the .NET runtime directory (assemblies, native libraries, JSON),
    // which compresses partly, as a backup's data does. Repeated if that is smaller than the buffer.
    internal static byte[] RealisticData(int size)
    {
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var data = new byte[size];
        var filled = 0;
        var files = Directory.GetFiles(runtime).Order(StringComparer.Ordinal).ToArray();
        while (filled < size)
        {
            foreach (var file in files)
            {
                var bytes = File.ReadAllBytes(file);
                var n = Math.Min(bytes.Length, size - filled);
                bytes.AsSpan(0, n).CopyTo(data.AsSpan(filled));
                filled += n;
                if (filled == size)
                {
                    break;
                }
            }
        }

        return data;
    }
}
