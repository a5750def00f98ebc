using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Coffer.Engine.Repository.Packs;

/// <summary>
/// zstd for blob payloads at one level: native libzstd through ZstdNet where it loads (about twice as fast
/// as the managed port, bench/README.md), else the managed ZstdSharp. Both write and read standard zstd
/// frames, so a store written with one reads with the other. Contexts hold megabytes of tables, so a few
/// are pooled and reused, as many as run at once.
/// </summary>
internal abstract class ZstdCodec
{
    /// <summary>The name ZstdNet imports its functions from (its package ships one per runtime).</summary>
    internal const string NativeLibraryName = "libzstd";

    private static readonly Lazy<bool> NativeLoads = new(() => CanLoadNative(NativeLibraryName));

    /// <summary>Whether this codec runs native libzstd.</summary>
    public abstract bool IsNative { get; }

    /// <summary>
    /// The codec for <paramref name="level"/>: native where <paramref name="nativeLibrary"/> loads and works
    /// (managed for small inputs, where native loses), else managed. Tests force the fallback by naming a
    /// library that does not exist.
    /// </summary>
    public static ZstdCodec Create(int level, string nativeLibrary = NativeLibraryName)
    {
        var native = nativeLibrary == NativeLibraryName ? NativeLoads.Value : CanLoadNative(nativeLibrary);
        return native ? new Preferred(new Native(level), new Managed(level)) : new Managed(level);
    }

    /// <summary>The managed codec whatever is installed (measurements, compatibility tests).</summary>
    public static ZstdCodec CreateManaged(int level) => new Managed(level);

    /// <summary>Native zstd for every input, or null where it does not load (measurements).</summary>
    public static ZstdCodec? CreateNative(int level) => NativeLoads.Value ? new Native(level) : null;

    /// <summary>
    /// Compresses <paramref name="source"/> into <paramref name="destination"/>; false when it does not fit,
    /// which zstd finds out early, so a small destination makes incompressible data cheap to give up on.
    /// </summary>
    public abstract bool TryCompress(ReadOnlySpan<byte> source, Span<byte> destination, out int written);

    /// <summary>Decompresses one frame; false when it is not a valid frame or does not fit.</summary>
    public abstract bool TryDecompress(ReadOnlySpan<byte> source, Span<byte> destination, out int written);

    // The library must both load and compress: a libzstd of another architecture or C library loads and
    // fails, or fails to load, and either way the managed port serves.
    private static bool CanLoadNative(string libraryName)
    {
        if (!NativeLibrary.TryLoad(libraryName, typeof(ZstdNet.Compressor).Assembly, null, out _))
        {
            return false;
        }

        try
        {
            using var codec = new Native(1);
            ReadOnlySpan<byte> probe = "coffer coffer coffer coffer coffer coffer coffer coffer"u8;
            Span<byte> compressed = stackalloc byte[128];
            Span<byte> restored = stackalloc byte[probe.Length];
            return codec.TryCompress(probe, compressed, out var length)
                && codec.TryDecompress(compressed[..length], restored, out var restoredLength)
                && restored[..restoredLength].SequenceEqual(probe);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or ZstdNet.ZstdException)
        {
            return false;
        }
    }

    private sealed class Native(int level) : ZstdCodec, IDisposable
    {
        private readonly ConcurrentBag<ZstdNet.Compressor> _compressors = [];
        private readonly ConcurrentBag<ZstdNet.Decompressor> _decompressors = [];
        private readonly ZstdNet.CompressionOptions _options = new(level);

        public override bool IsNative => true;

        public override bool TryCompress(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
        {
            var compressor = _compressors.TryTake(out var pooled) ? pooled : new ZstdNet.Compressor(_options);
            try
            {
                written = compressor.Wrap(source, destination);
                return true;
            }
            catch (ZstdNet.ZstdException e) when (e.Code == ZstdNet.ZSTD_ErrorCode.ZSTD_error_dstSize_tooSmall)
            {
                written = 0;
                return false;
            }
            finally
            {
                _compressors.Add(compressor);
            }
        }

        public override bool TryDecompress(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
        {
            var decompressor = _decompressors.TryTake(out var pooled) ? pooled : new ZstdNet.Decompressor();
            try
            {
                written = decompressor.Unwrap(source, destination);
                return true;
            }
            catch (ZstdNet.ZstdException)
            {
                written = 0;
                return false;
            }
            finally
            {
                _decompressors.Add(decompressor);
            }
        }

        public void Dispose()
        {
            foreach (var compressor in _compressors)
            {
                compressor.Dispose();
            }

            foreach (var decompressor in _decompressors)
            {
                decompressor.Dispose();
            }

            _options.Dispose();
        }
    }

    // ZstdNet reports "does not fit" by an exception, a few microseconds each: on small blobs, which are often
    // incompressible, that costs more than native saves (bench/README.md), so they go to the managed port.
    // Decompression throws only on damage, so it is native throughout.
    private sealed class Preferred(Native native, Managed managed) : ZstdCodec
    {
        internal const int NativeMinimum = 64 * 1024;

        public override bool IsNative => true;

        public override bool TryCompress(ReadOnlySpan<byte> source, Span<byte> destination, out int written) =>
            source.Length >= NativeMinimum
                ? native.TryCompress(source, destination, out written)
                : managed.TryCompress(source, destination, out written);

        public override bool TryDecompress(ReadOnlySpan<byte> source, Span<byte> destination, out int written) =>
            native.TryDecompress(source, destination, out written);
    }

    private sealed class Managed(int level) : ZstdCodec
    {
        private readonly ConcurrentBag<ZstdSharp.Compressor> _compressors = [];
        private readonly ConcurrentBag<ZstdSharp.Decompressor> _decompressors = [];

        public override bool IsNative => false;

        public override bool TryCompress(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
        {
            var compressor = _compressors.TryTake(out var pooled) ? pooled : new ZstdSharp.Compressor(level);
            var fits = compressor.TryWrap(source, destination, out written);
            _compressors.Add(compressor);
            return fits;
        }

        public override bool TryDecompress(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
        {
            var decompressor = _decompressors.TryTake(out var pooled) ? pooled : new ZstdSharp.Decompressor();
            try
            {
                written = decompressor.Unwrap(source, destination);
                return true;
            }
            catch (ZstdSharp.ZstdException)
            {
                written = 0;
                return false;
            }
            finally
            {
                _decompressors.Add(decompressor);
            }
        }
    }
}
