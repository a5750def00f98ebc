using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Coffer.Engine.Core;
using Microsoft.Win32.SafeHandles;

namespace Coffer.Engine.Repository.Packs;

/// <summary>One indexed blob as the index holds it: the pack as its number, the blob type in the number's bit 30.</summary>
internal readonly record struct IndexRecord(BlobId Id, int PackAndType, uint Offset, uint Length, uint RawLength)
{
    /// <summary>Bytes of one record in the index cache file.</summary>
    public const int Size = BlobId.Size + 16;

    /// <summary>The bit of <see cref="PackAndType"/> that marks a tree blob.</summary>
    public const int TypeBit = 1 << 30;

    public int PackNumber => PackAndType & (TypeBit - 1);

    public BlobType Type => (PackAndType & TypeBit) != 0 ? BlobType.Tree : BlobType.Data;

    public PackEntry ToEntry() => new(Type, Id, Offset, Length, RawLength);

    public static IndexRecord From(PackEntry entry, int pack) =>
        new(entry.Id, pack | (entry.Type == BlobType.Tree ? TypeBit : 0), entry.Offset, entry.Length, entry.RawLength);

    public void WriteTo(Span<byte> destination)
    {
        Id.WriteTo(destination);
        BinaryPrimitives.WriteInt32LittleEndian(destination[32..], PackAndType);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[36..], Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[40..], Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[44..], RawLength);
    }

    public static IndexRecord Read(ReadOnlySpan<byte> source) => new(
        new BlobId(source[..BlobId.Size]),
        BinaryPrimitives.ReadInt32LittleEndian(source[32..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[36..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[40..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[44..]));
}

/// <summary>
/// The store's index as a file under the cache directory (docs/store-format.md, "The index cache"): the pack
/// table, every record in pack order, every record again sorted by blob id (copies of one blob in the order
/// they were indexed), and an XxHash128 of all of it. Read with positioned reads, never mapped (mapped pages
/// count in the process's resident set); only the pack table and one 8-byte id prefix per
/// <see cref="FenceStride"/> sorted records stay in RAM. The store stays the source of truth: the file is valid
/// for exactly the index objects it names, and one that fails its checksum is rebuilt, never read.
/// </summary>
internal sealed class IndexCache : IDisposable
{
    /// <summary>Sorted records per in-RAM fence: a lookup reads one or two blocks of this many records.</summary>
    public const int FenceStride = 64;

    private static ReadOnlySpan<byte> Magic => "COFFIXC1"u8;

    // The stream that verified the file owns the handle the positioned reads use: one open, so the file read is the file verified.
    private readonly FileStream _stream;
    private readonly SafeFileHandle _file;
    private readonly long _byPackStart;
    private readonly long _sortedStart;
    private readonly ulong[] _fences;
    private readonly (string Name, long First, int Count)[] _packs;
    private readonly Dictionary<string, int> _packNumbers;

    private IndexCache(FileStream stream, IReadOnlySet<string> objects, (string Name, long First, int Count)[] packs, long count, long distinct, long byPackStart, ulong[] fences)
    {
        _stream = stream;
        _file = stream.SafeFileHandle;
        IndexObjects = objects;
        _packs = packs;
        _packNumbers = new Dictionary<string, int>(packs.Length, StringComparer.Ordinal);
        for (var i = 0; i < packs.Length; i++)
        {
            _packNumbers[packs[i].Name] = i;
        }

        RecordCount = count;
        DistinctCount = distinct;
        _byPackStart = byPackStart;
        _sortedStart = byPackStart + (count * IndexRecord.Size);
        _fences = fences;
    }

    /// <summary>The index objects the file was built from.</summary>
    public IReadOnlySet<string> IndexObjects { get; }

    /// <summary>Records in the file, copies of one blob counted each.</summary>
    public long RecordCount { get; }

    /// <summary>Distinct blobs in the file.</summary>
    public long DistinctCount { get; }

    public int PackCount => _packs.Length;

    /// <summary>The file's size in bytes.</summary>
    public long FileBytes => RandomAccess.GetLength(_file);

    /// <summary>Bytes of RAM the open file holds for its records (the fences), not counting the pack table.</summary>
    public long FenceBytes => _fences.Length * (long)sizeof(ulong);

    public string PackName(int number) => _packs[number].Name;

    public bool TryGetPackNumber(string pack, out int number) => _packNumbers.TryGetValue(pack, out number);

    public IEnumerable<string> PackNames => _packs.Select(p => p.Name);

    /// <summary>The pack table: each pack's name, its first record in pack order and its record count.</summary>
    public IReadOnlyList<(string Name, long First, int Count)> Packs => _packs;

    /// <summary>Opens the cache file at <paramref name="path"/>; null when there is none or it fails its checks (then it must be rebuilt).</summary>
    public static IndexCache? TryOpen(string path)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        try
        {
            var cache = Read(stream);
            if (cache is null)
            {
                stream.Dispose();
            }

            return cache;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static IndexCache? Read(FileStream stream)
    {
        var length = stream.Length;
        var hash = new XxHash128();
        using var reader = new BinaryReader(new HashingStream(stream, hash), Encoding.UTF8, leaveOpen: true);
        try
        {
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            {
                return null;
            }

            var objectCount = reader.ReadInt32();
            if (objectCount < 0 || objectCount > length)
            {
                return null;
            }

            var objects = new HashSet<string>(objectCount, StringComparer.Ordinal);
            for (var i = 0; i < objectCount; i++)
            {
                objects.Add(reader.ReadString());
            }

            var packCount = reader.ReadInt32();
            if (packCount < 0 || packCount > length / 44)
            {
                return null;
            }

            var packs = new (string, long, int)[packCount];
            for (var i = 0; i < packCount; i++)
            {
                packs[i] = (Convert.ToHexStringLower(reader.ReadBytes(32)), reader.ReadInt64(), reader.ReadInt32());
            }

            var count = reader.ReadInt64();
            var byPackStart = stream.Position;
            if (count < 0 || byPackStart + (2 * count * IndexRecord.Size) + 8 + 16 != length)
            {
                return null;
            }

            // Hash the rest in blocks of whole fences, taking each fence's id prefix on the way through the sorted part.
            var fences = new ulong[(count + FenceStride - 1) / FenceStride];
            var block = new byte[FenceStride * IndexRecord.Size * 16];
            for (long done = 0; done < count;)
            {
                var records = (int)Math.Min(block.Length / IndexRecord.Size, count - done);
                reader.BaseStream.ReadExactly(block, 0, records * IndexRecord.Size);
                done += records;
            }

            for (long done = 0; done < count;)
            {
                var records = (int)Math.Min(block.Length / IndexRecord.Size, count - done);
                reader.BaseStream.ReadExactly(block, 0, records * IndexRecord.Size);
                for (var r = 0; r < records; r += FenceStride)
                {
                    fences[(done + r) / FenceStride] = BinaryPrimitives.ReadUInt64BigEndian(block.AsSpan(r * IndexRecord.Size));
                }

                done += records;
            }

            var distinct = reader.ReadInt64();
            Span<byte> stored = stackalloc byte[16];
            stream.ReadExactly(stored);
            return hash.GetCurrentHash().AsSpan().SequenceEqual(stored)
                ? new IndexCache(stream, objects, packs, count, distinct, byPackStart, fences)
                : null;
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException or ArgumentException or IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Finds the copy of <paramref name="id"/> reads use: the first indexed that is not in a pack
    /// <paramref name="trashedPack"/> names, else the first.
    /// </summary>
    public bool TryFind(BlobId id, Predicate<int> trashedPack, out IndexRecord winner)
    {
        winner = default;
        var found = false;
        Span<byte> id8 = stackalloc byte[BlobId.Size];
        id.WriteTo(id8);
        var prefix = BinaryPrimitives.ReadUInt64BigEndian(id8);

        // The last fence whose prefix is below the id's: every record before it is below the id too.
        int low = 0, high = _fences.Length - 1, fence = 0;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            if (_fences[middle] < prefix)
            {
                fence = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        Span<byte> block = stackalloc byte[FenceStride * IndexRecord.Size];
        for (var at = (long)fence * FenceStride; at < RecordCount; at += FenceStride)
        {
            var records = (int)Math.Min(FenceStride, RecordCount - at);
            var bytes = block[..(records * IndexRecord.Size)];
            RandomAccess.Read(_file, bytes, _sortedStart + (at * IndexRecord.Size));
            for (var i = 0; i < records; i++)
            {
                var record = IndexRecord.Read(bytes[(i * IndexRecord.Size)..]);
                var order = record.Id.CompareTo(id);
                if (order > 0)
                {
                    return found;
                }

                if (order == 0 && (!found || (trashedPack(winner.PackNumber) && !trashedPack(record.PackNumber))))
                {
                    winner = record;
                    found = true;
                }
            }
        }

        return found;
    }

    public BlobLocation Location(in IndexRecord record) =>
        new(record.Type, _packs[record.PackNumber].Name, record.Offset, record.Length, record.RawLength);

    /// <summary>The entries of pack number <paramref name="number"/>, as its index object listed them.</summary>
    public PackEntry[] PackEntries(int number)
    {
        var (_, first, count) = _packs[number];
        var bytes = new byte[count * IndexRecord.Size];
        RandomAccess.Read(_file, bytes, _byPackStart + (first * IndexRecord.Size));
        var entries = new PackEntry[count];
        for (var i = 0; i < count; i++)
        {
            entries[i] = IndexRecord.Read(bytes.AsSpan(i * IndexRecord.Size)).ToEntry();
        }

        return entries;
    }

    /// <summary>Copies every record in pack order, as the file holds them, to <paramref name="destination"/>.</summary>
    public void CopyRecordsByPackTo(Stream destination)
    {
        var block = new byte[FenceStride * IndexRecord.Size * 64];
        for (long at = 0; at < RecordCount;)
        {
            var bytes = block.AsSpan(0, (int)Math.Min(block.Length, (RecordCount - at) * IndexRecord.Size));
            RandomAccess.Read(_file, bytes, _byPackStart + (at * IndexRecord.Size));
            destination.Write(bytes);
            at += bytes.Length / IndexRecord.Size;
        }
    }

    /// <summary>Every record sorted by blob id, read in blocks as it is enumerated.</summary>
    public IEnumerable<IndexRecord> Sorted()
    {
        var block = new byte[FenceStride * IndexRecord.Size * 64];
        for (long at = 0; at < RecordCount;)
        {
            var records = (int)Math.Min(block.Length / IndexRecord.Size, RecordCount - at);
            RandomAccess.Read(_file, block.AsSpan(0, records * IndexRecord.Size), _sortedStart + (at * IndexRecord.Size));
            for (var i = 0; i < records; i++)
            {
                yield return IndexRecord.Read(block.AsSpan(i * IndexRecord.Size));
            }

            at += records;
        }
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>Writes the header of a cache file: the index objects, the pack table, the record counts.</summary>
    internal static void WriteHeader(BinaryWriter writer, IReadOnlyCollection<string> objects, IReadOnlyList<(string Name, long First, int Count)> packs, long count)
    {
        writer.Write(Magic);
        writer.Write(objects.Count);
        foreach (var name in objects.Order(StringComparer.Ordinal))
        {
            writer.Write(name);
        }

        writer.Write(packs.Count);
        Span<byte> name32 = stackalloc byte[32];
        foreach (var (name, first, packCount) in packs)
        {
            Convert.FromHexString(name, name32, out _, out _);
            writer.Write(name32);
            writer.Write(first);
            writer.Write(packCount);
        }

        writer.Write(count);
    }

    /// <summary>A read-only or write-only stream that feeds every byte through a hash on its way.</summary>
    internal sealed class HashingStream(Stream inner, NonCryptographicHashAlgorithm hash) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            hash.Append(buffer.AsSpan(offset, read));
            return read;
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            hash.Append(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
