using System.Buffers.Binary;
using Coffer.Engine.Core;
using Coffer.Engine.Repository.Crypto;

namespace Coffer.Engine.Repository.Packs;

/// <summary>Where a blob lives: its pack, its byte range there, and its decoded length.</summary>
internal readonly record struct BlobLocation(BlobType Type, string Pack, uint Offset, uint Length, uint RawLength);

/// <summary>One blob as a pack header or an index object lists it.</summary>
internal readonly record struct PackEntry(BlobType Type, BlobId Id, uint Offset, uint Length, uint RawLength)
{
    public const int Size = 1 + BlobId.Size + 4 + 4 + 4;

    /// <summary>No stored blob is larger: a bound on what a damaged index or header can make a reader allocate.</summary>
    public const uint MaxBlobLength = 256 * 1024 * 1024;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = (byte)Type;
        Id.WriteTo(destination[1..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[33..], Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[37..], Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[41..], RawLength);
    }

    public static PackEntry Read(ReadOnlySpan<byte> source)
    {
        var type = (BlobType)source[0];
        if (type is not (BlobType.Data or BlobType.Tree))
        {
            throw new StoreFormatException($"unknown blob type {source[0]}");
        }

        var entry = new PackEntry(
            type,
            new BlobId(source.Slice(1, BlobId.Size)),
            BinaryPrimitives.ReadUInt32LittleEndian(source[33..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[37..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[41..]));
        if (entry.Length is 0 or > MaxBlobLength || entry.RawLength > MaxBlobLength || (ulong)entry.Offset + entry.Length > uint.MaxValue)
        {
            throw new StoreFormatException($"blob entry out of bounds (offset {entry.Offset}, length {entry.Length}, raw {entry.RawLength}): run 'coffer check'");
        }

        return entry;
    }
}

/// <summary>
/// A packfile is its blobs back to back, then a sealed header listing them, then the header's sealed
/// length as 4 bytes little-endian. The header lets a pack be understood without any index (for repair
/// and for reusing packs an interrupted backup uploaded).
/// </summary>
internal static class PackFormat
{
    public const string HeaderContext = "coffer pack header v1";

    public static byte[] EncodeHeader(StoreKeys keys, IReadOnlyList<PackEntry> entries)
    {
        var plain = new byte[4 + entries.Count * PackEntry.Size];
        BinaryPrimitives.WriteInt32LittleEndian(plain, entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            entries[i].WriteTo(plain.AsSpan(4 + i * PackEntry.Size));
        }

        return keys.SealObject(plain, HeaderContext);
    }

    public static IReadOnlyList<PackEntry> DecodeHeader(StoreKeys keys, ReadOnlySpan<byte> sealedHeader)
    {
        byte[] plain;
        try
        {
            plain = keys.OpenObject(sealedHeader, HeaderContext);
        }
        catch (System.Security.Cryptography.AuthenticationTagMismatchException e)
        {
            throw new StoreFormatException("pack header fails authentication", e);
        }

        var count = plain.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(plain) : -1;
        if (count < 0 || plain.Length != 4 + (long)count * PackEntry.Size)
        {
            throw new StoreFormatException("pack header is malformed");
        }

        var entries = new PackEntry[count];
        for (var i = 0; i < count; i++)
        {
            entries[i] = PackEntry.Read(plain.AsSpan(4 + i * PackEntry.Size));
        }

        return entries;
    }
}
