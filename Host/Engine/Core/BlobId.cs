using System.Buffers.Binary;

namespace Coffer.Engine.Core;

/// <summary>
/// The 32-byte keyed MAC that names a blob. Held as four words so dictionaries of millions of ids
/// cost no per-id allocation.
/// </summary>
internal readonly struct BlobId : IEquatable<BlobId>, IComparable<BlobId>
{
    public const int Size = 32;

    private readonly ulong _a, _b, _c, _d;

    public BlobId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"a blob id is {Size} bytes, not {bytes.Length}", nameof(bytes));
        }

        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    public static BlobId Parse(string hex)
    {
        Span<byte> bytes = stackalloc byte[Size];
        if (hex is null || hex.Length != Size * 2 || Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != Size)
        {
            // Ids come from stored trees and snapshots: a malformed one is damage to the store, not a bug.
            var shown = hex is null ? "null" : hex.Length > 70 ? $"{hex[..64]}…" : hex;
            throw new StoreFormatException($"'{shown}' is not a blob id (64 hex digits): the store is damaged, run 'coffer check'");
        }

        return new BlobId(bytes);
    }

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Size];
        WriteTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    public bool Equals(BlobId other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is BlobId other && Equals(other);

    // The id is already a uniform MAC: any word of it is a good hash.
    public override int GetHashCode() => (int)_a ^ (int)(_a >> 32);

    public int CompareTo(BlobId other)
    {
        var c = _a.CompareTo(other._a);
        if (c != 0)
        {
            return c;
        }

        c = _b.CompareTo(other._b);
        return c != 0 ? c : (c = _c.CompareTo(other._c)) != 0 ? c : _d.CompareTo(other._d);
    }

    public static bool operator ==(BlobId left, BlobId right) => left.Equals(right);

    public static bool operator !=(BlobId left, BlobId right) => !left.Equals(right);

    public static bool operator <(BlobId left, BlobId right) => left.CompareTo(right) < 0;

    public static bool operator >(BlobId left, BlobId right) => left.CompareTo(right) > 0;

    public static bool operator <=(BlobId left, BlobId right) => left.CompareTo(right) <= 0;

    public static bool operator >=(BlobId left, BlobId right) => left.CompareTo(right) >= 0;
}

/// <summary>What a blob holds; part of its authenticated data, so a tree can never pass for file content.</summary>
internal enum BlobType : byte
{
    Data = 1,
    Tree = 2,
}
