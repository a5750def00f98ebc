using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Coffer.Engine.Core.Model;

namespace Coffer.Engine.Core.Chunking;

/// <summary>
/// FastCDC content-defined chunking (Xia et al., 2016/2020): a 64-bit gear rolling hash, no cut before
/// the minimum size, a stricter mask before the average size and a looser one after it (normalized
/// chunking, level 2), a forced cut at the maximum. The gear table comes from the store's chunker key,
/// so chunk boundaries, and thus chunk sizes, reveal nothing about content to whoever sees the packs.
/// </summary>
internal sealed class FastCdc
{
    private readonly ulong[] _gear;
    private readonly ulong _maskSmall;
    private readonly ulong _maskLarge;

    public FastCdc(ChunkerParameters parameters, ReadOnlySpan<byte> key)
    {
        if (parameters.Algorithm != "fastcdc-keyed-gear")
        {
            throw new StoreFormatException($"unsupported chunker '{parameters.Algorithm}'");
        }

        if (parameters.MinSize < 64 || parameters.MinSize >= parameters.AverageSize || parameters.AverageSize >= parameters.MaxSize
            || !BitOperations.IsPow2(parameters.AverageSize))
        {
            throw new StoreFormatException("chunker sizes must be 64 <= min < avg < max, avg a power of two");
        }

        MinSize = parameters.MinSize;
        AverageSize = parameters.AverageSize;
        MaxSize = parameters.MaxSize;
        var bits = BitOperations.Log2((uint)AverageSize);

        // A left-shifting gear hash mixes the most into its high bits: test those.
        _maskSmall = ulong.MaxValue << (64 - (bits + 2));
        _maskLarge = ulong.MaxValue << (64 - (bits - 2));

        var table = HKDF.Expand(HashAlgorithmName.SHA256, key.ToArray(), 256 * sizeof(ulong), "coffer/v1/gear"u8.ToArray());
        _gear = MemoryMarshal.Cast<byte, ulong>(table).ToArray();
    }

    public int MinSize { get; }

    public int AverageSize { get; }

    public int MaxSize { get; }

    /// <summary>
    /// The length of the next chunk at the start of <paramref name="data"/>. When <paramref name="data"/> is
    /// shorter than <see cref="MaxSize"/> the caller must be at the end of its input: all of it may be returned.
    /// </summary>
    public int NextBoundary(ReadOnlySpan<byte> data)
    {
        var length = data.Length;
        if (length <= MinSize)
        {
            return length;
        }

        if (length > MaxSize)
        {
            length = MaxSize;
        }

        var normal = Math.Min(AverageSize, length);
        ref var gear = ref MemoryMarshal.GetArrayDataReference(_gear);
        ref var bytes = ref MemoryMarshal.GetReference(data);
        ulong hash = 0;
        var i = MinSize;
        for (; i < normal; i++)
        {
            hash = (hash << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref bytes, i));
            if ((hash & _maskSmall) == 0)
            {
                return i + 1;
            }
        }

        for (; i < length; i++)
        {
            hash = (hash << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref bytes, i));
            if ((hash & _maskLarge) == 0)
            {
                return i + 1;
            }
        }

        return length;
    }
}
