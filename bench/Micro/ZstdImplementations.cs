using BenchmarkDotNet.Attributes;
using Coffer.Engine.Core.Chunking;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository.Packs;

namespace Coffer.Bench.Micro;

/// <summary>
/// Native zstd (ZstdNet over libzstd) against the managed port (ZstdSharp), both through the engine's
/// <see cref="ZstdCodec"/> at the store's default level, on the engine's chunks of the same 16 MiB of real
/// files; and on 16 MiB of small random blobs (0.5-4 KiB) compressed into 31/32 of their size, as the engine
/// does, where zstd must give up (the native wrapper reports that by an exception). bench/README.md.
/// </summary>
[MemoryDiagnoser]
public class ZstdImplementations
{
    private byte[] _data = [];
    private byte[] _random = [];
    private byte[] _output = [];
    private byte[] _restored = [];
    private int[] _chunkLengths = [];
    private int[] _randomLengths = [];
    private (int Start, int Length)[] _nativeFrames = [];
    private (int Start, int Length)[] _managedFrames = [];
    private byte[] _nativeCompressed = [];
    private byte[] _managedCompressed = [];
    private ZstdCodec _native = null!;
    private ZstdCodec _managed = null!;

    /// <summary>Cuts the buffer as the engine does and compresses it once with each codec for the decompression runs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var level = new StoreConfig { Id = "0", Created = DateTimeOffset.UnixEpoch, Chunker = new ChunkerParameters() }.CompressionLevel;
        _native = ZstdCodec.CreateNative(level) ?? throw new InvalidOperationException("native libzstd did not load: nothing to compare");
        _managed = ZstdCodec.CreateManaged(level);

        _data = EnginePaths.RealisticData(EnginePaths.BufferSize);
        _output = new byte[EnginePaths.BufferSize * 2];
        _restored = new byte[EnginePaths.BufferSize];
        var chunker = new FastCdc(new ChunkerParameters(), new byte[32]);
        var lengths = new List<int>();
        for (var at = 0; at < _data.Length;)
        {
            var n = chunker.NextBoundary(_data.AsSpan(at, Math.Min(_data.Length - at, chunker.MaxSize)));
            lengths.Add(n);
            at += n;
        }

        _chunkLengths = [.. lengths];
        var random = new Random(19);
        _random = new byte[EnginePaths.BufferSize];
        random.NextBytes(_random);
        var small = new List<int>();
        for (var total = 0; total < _random.Length;)
        {
            var n = Math.Min(random.Next(512, 4097), _random.Length - total);
            small.Add(n);
            total += n;
        }

        _randomLengths = [.. small];
        (_nativeCompressed, _nativeFrames) = CompressAll(_native);
        (_managedCompressed, _managedFrames) = CompressAll(_managed);
        var nativeBytes = _nativeFrames.Sum(f => (long)f.Length);
        var managedBytes = _managedFrames.Sum(f => (long)f.Length);
        Console.WriteLine($"// zstd level {level}, {_data.Length} bytes in {_chunkLengths.Length} chunks: native {nativeBytes} bytes ({(double)_data.Length / nativeBytes:F3}x), managed {managedBytes} bytes ({(double)_data.Length / managedBytes:F3}x)");
    }

    /// <summary>Native: every chunk compressed.</summary>
    [Benchmark]
    public long NativeCompress() => CompressChunks(_native);

    /// <summary>Managed: every chunk compressed.</summary>
    [Benchmark]
    public long ManagedCompress() => CompressChunks(_managed);

    /// <summary>Native: every frame the native codec wrote, decompressed.</summary>
    [Benchmark]
    public long NativeDecompress() => DecompressAll(_native, _nativeCompressed, _nativeFrames);

    /// <summary>Managed: every frame the managed codec wrote, decompressed.</summary>
    [Benchmark]
    public long ManagedDecompress() => DecompressAll(_managed, _managedCompressed, _managedFrames);

    /// <summary>Native: small random blobs, each given up on (does not fit 31/32).</summary>
    [Benchmark]
    public int NativeIncompressible() => GiveUpOnRandom(_native);

    /// <summary>Managed: small random blobs, each given up on (does not fit 31/32).</summary>
    [Benchmark]
    public int ManagedIncompressible() => GiveUpOnRandom(_managed);

    /// <summary>
    /// The same six paths timed by this process's CPU time rather than wall time, interleaved over
    /// <paramref name="rounds"/> rounds, medians printed with native/managed ratios: on a machine other work
    /// loads, CPU time still compares the two (BenchmarkDotNet's wall times there measure the load).
    /// </summary>
    public void PrintCpuMedians(int rounds)
    {
        Setup();
        var paths = new (string Name, Func<long> Native, Func<long> Managed)[]
        {
            ("compress", NativeCompress, ManagedCompress),
            ("decompress", NativeDecompress, ManagedDecompress),
            ("give up on small random blobs", () => NativeIncompressible(), () => ManagedIncompressible()),
        };
        foreach (var (name, native, managed) in paths)
        {
            var nativeMs = new List<double>();
            var managedMs = new List<double>();
            for (var round = -2; round < rounds; round++)
            {
                // Two unmeasured rounds first, so both run their final JIT tier; then each goes first in turn.
                var (first, second) = round % 2 == 0 ? ((native, nativeMs), (managed, managedMs)) : ((managed, managedMs), (native, nativeMs));
                foreach (var (work, times) in new[] { first, second })
                {
                    var before = Environment.CpuUsage.UserTime + Environment.CpuUsage.PrivilegedTime;
                    work();
                    var cpu = Environment.CpuUsage.UserTime + Environment.CpuUsage.PrivilegedTime - before;
                    if (round >= 0)
                    {
                        times.Add(cpu.TotalMilliseconds);
                    }
                }
            }

            double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
            Console.WriteLine($"{name}: native {Median(nativeMs):F1} ms CPU ({Megabytes(nativeMs, Median):F0} MB/s), managed {Median(managedMs):F1} ms ({Megabytes(managedMs, Median):F0} MB/s), native/managed time {Median(nativeMs) / Median(managedMs):F2}");
        }

        static double Megabytes(List<double> ms, Func<List<double>, double> median) => EnginePaths.BufferSize / 1e6 / (median(ms) / 1000);
    }

    private long CompressChunks(ZstdCodec codec)
    {
        long total = 0;
        var at = 0;
        foreach (var length in _chunkLengths)
        {
            codec.TryCompress(_data.AsSpan(at, length), _output, out var written);
            total += written;
            at += length;
        }

        return total;
    }

    private (byte[] Compressed, (int Start, int Length)[] Frames) CompressAll(ZstdCodec codec)
    {
        var compressed = new byte[EnginePaths.BufferSize * 2];
        var frames = new List<(int, int)>();
        int at = 0, to = 0;
        foreach (var length in _chunkLengths)
        {
            codec.TryCompress(_data.AsSpan(at, length), compressed.AsSpan(to), out var written);
            frames.Add((to, written));
            at += length;
            to += written;
        }

        return (compressed, [.. frames]);
    }

    private long DecompressAll(ZstdCodec codec, byte[] compressed, (int Start, int Length)[] frames)
    {
        long total = 0;
        for (var i = 0; i < frames.Length; i++)
        {
            codec.TryDecompress(compressed.AsSpan(frames[i].Start, frames[i].Length), _restored, out var written);
            total += written;
        }

        return total;
    }

    private int GiveUpOnRandom(ZstdCodec codec)
    {
        var givenUp = 0;
        var at = 0;
        foreach (var length in _randomLengths)
        {
            givenUp += codec.TryCompress(_random.AsSpan(at, length), _output.AsSpan(0, length - (length >> 5)), out _) ? 0 : 1;
            at += length;
        }

        return givenUp;
    }
}
