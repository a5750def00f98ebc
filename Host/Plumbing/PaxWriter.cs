using System.Globalization;
using System.Text;

namespace Coffer.Plumbing;

/// <summary>The type of a tar entry, by its ustar type flag.</summary>
public enum PaxEntryType
{
    /// <summary>A regular file ('0').</summary>
    RegularFile = '0',

    /// <summary>A hard link to an earlier entry ('1').</summary>
    HardLink = '1',

    /// <summary>A symbolic link ('2').</summary>
    SymbolicLink = '2',

    /// <summary>A character device ('3').</summary>
    CharacterDevice = '3',

    /// <summary>A block device ('4').</summary>
    BlockDevice = '4',

    /// <summary>A directory ('5').</summary>
    Directory = '5',

    /// <summary>A FIFO ('6').</summary>
    Fifo = '6',
}

/// <summary>
/// An entry of <see cref="PaxWriter"/>. Paths, link targets and owner names are the ABI's strings: bytes that are
/// not UTF-8 are lone surrogates (<see cref="RawName"/>) and go into the archive as those bytes.
/// </summary>
/// <param name="Type">What the entry is.</param>
/// <param name="Path">Its path in the archive (a directory's with a trailing '/').</param>
public sealed record PaxEntry(PaxEntryType Type, string Path)
{
    /// <summary>Permission bits (and set-id, sticky).</summary>
    public int Mode { get; init; }

    /// <summary>Owner's user id.</summary>
    public long Uid { get; init; }

    /// <summary>Owner's group id.</summary>
    public long Gid { get; init; }

    /// <summary>Owner's user name, empty when unknown.</summary>
    public string UserName { get; init; } = "";

    /// <summary>Owner's group name, empty when unknown.</summary>
    public string GroupName { get; init; } = "";

    /// <summary>Modification time, kept to the tick in the pax <c>mtime</c> record.</summary>
    public DateTimeOffset ModificationTime { get; init; }

    /// <summary>A link's target (symbolic or hard).</summary>
    public string? LinkPath { get; init; }

    /// <summary>A device's major number.</summary>
    public long DeviceMajor { get; init; }

    /// <summary>A device's minor number.</summary>
    public long DeviceMinor { get; init; }
}

/// <summary>
/// Writes a POSIX pax tar stream to a stream that need not seek. Names are written as their bytes: a name that is
/// not UTF-8 goes into a pax <c>path</c> (or <c>linkpath</c>) record marked <c>hdrcharset=BINARY</c>, as GNU tar
/// writes it, so <c>tar -x</c> recreates it byte for byte. A pax header precedes an entry only when the ustar
/// header cannot hold it all (a long or non-ASCII name, a time below the second, a large size or owner).
/// Call <see cref="FinishAsync"/> to write the end-of-archive marker.
/// </summary>
/// <param name="output">Receives the archive; not disposed.</param>
public sealed class PaxWriter(Stream output)
{
    private const int BlockSize = TarFields.BlockSize;
    private const int NameLength = 100;
    private const int OwnerNameLength = 32;
    private static readonly DateTimeOffset Epoch = DateTimeOffset.UnixEpoch;

    /// <summary>Writes one entry; <paramref name="content"/> (a regular file's, else null) is read to its end.</summary>
    /// <param name="entry">The entry.</param>
    /// <param name="size">A regular file's size, written before its content is read; 0 for other entries.</param>
    /// <param name="content">A regular file's content.</param>
    /// <param name="cancellationToken">Cancels writing.</param>
    /// <returns>A task that completes when the entry is written.</returns>
    /// <exception cref="TarFormatException"><paramref name="content"/> is not <paramref name="size"/> bytes long (<see cref="TarProblem.SizeMismatch"/>).</exception>
    public async Task WriteEntryAsync(PaxEntry entry, long size, Stream? content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var records = new List<(string Key, byte[] Value)>();
        var path = RawName.Encode(entry.Path);
        var link = entry.LinkPath is null ? [] : RawName.Encode(entry.LinkPath);
        var user = RawName.Encode(entry.UserName);
        var group = RawName.Encode(entry.GroupName);
        if (RawName.HasEscapedBytes(entry.Path) || (entry.LinkPath is { } target && RawName.HasEscapedBytes(target))
            || RawName.HasEscapedBytes(entry.UserName) || RawName.HasEscapedBytes(entry.GroupName))
        {
            // Without it a reader may take the records for UTF-8 and replace what is not.
            records.Add(("hdrcharset", "BINARY"u8.ToArray()));
        }

        AddIfNotPlain(records, "path", path, NameLength);
        AddIfNotPlain(records, "linkpath", link, NameLength);
        AddIfNotPlain(records, "uname", user, OwnerNameLength - 1);
        AddIfNotPlain(records, "gname", group, OwnerNameLength - 1);
        AddIfTooLarge(records, "uid", entry.Uid, 8);
        AddIfTooLarge(records, "gid", entry.Gid, 8);
        AddIfTooLarge(records, "size", size, 12);
        var ticks = (entry.ModificationTime - Epoch).Ticks;
        if (ticks % TimeSpan.TicksPerSecond != 0 || !TarFields.FitsOctal(ticks / TimeSpan.TicksPerSecond, 12))
        {
            records.Add(("mtime", Encoding.ASCII.GetBytes(PaxTime(ticks))));
        }

        if (records.Count > 0)
        {
            var data = Records(records);
            await output.WriteAsync(Header((byte)'x', "././@PaxHeader"u8, [], data.Length, 0, [], [], 0, 0, 0, 0, Epoch), cancellationToken).ConfigureAwait(false);
            await output.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            await TarFields.PadAsync(output, data.Length, cancellationToken).ConfigureAwait(false);
        }

        var seconds = Math.Clamp(ticks / TimeSpan.TicksPerSecond, 0, (1L << 33) - 1);
        await output.WriteAsync(Header((byte)entry.Type, path, link, size, entry.Mode & 0xFFF, user, group, entry.Uid, entry.Gid,
            entry.DeviceMajor, entry.DeviceMinor, Epoch.AddSeconds(seconds)), cancellationToken).ConfigureAwait(false);
        if (content is not null)
        {
            await TarFields.CopyContentAsync(output, content, size, entry.Path, cancellationToken).ConfigureAwait(false);
        }
        else if (size != 0)
        {
            throw new TarFormatException(TarProblem.SizeMismatch, entry.Path, $"'{entry.Path}' has no content, not the {size} bytes its header says");
        }
    }

    /// <summary>Writes the end-of-archive marker: two zero blocks.</summary>
    /// <param name="cancellationToken">Cancels writing.</param>
    /// <returns>A task that completes when the marker is written.</returns>
    public async Task FinishAsync(CancellationToken cancellationToken) =>
        await output.WriteAsync(new byte[2 * BlockSize], cancellationToken).ConfigureAwait(false);

    // A name the ustar field holds only when it is short ASCII: anything else goes into a record (the field keeps a cut copy).
    private static void AddIfNotPlain(List<(string Key, byte[] Value)> records, string key, byte[] value, int fieldLength)
    {
        if (value.Length > fieldLength || value.Any(b => b >= 0x80))
        {
            records.Add((key, value));
        }
    }

    private static void AddIfTooLarge(List<(string Key, byte[] Value)> records, string key, long value, int fieldLength)
    {
        if (!TarFields.FitsOctal(value, fieldLength))
        {
            records.Add((key, Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture))));
        }
    }

    // Seconds since the epoch with up to seven decimals (a tick is 100 ns), the sign before both parts.
    private static string PaxTime(long ticks)
    {
        var magnitude = Math.Abs(ticks);
        var fraction = (magnitude % TimeSpan.TicksPerSecond).ToString("D7", CultureInfo.InvariantCulture).TrimEnd('0');
        return string.Create(CultureInfo.InvariantCulture, $"{(ticks < 0 ? "-" : "")}{magnitude / TimeSpan.TicksPerSecond}{(fraction.Length > 0 ? "." + fraction : "")}");
    }

    // Each record is "LENGTH KEY=VALUE\n", LENGTH counting its own digits.
    private static byte[] Records(List<(string Key, byte[] Value)> records)
    {
        using var data = new MemoryStream();
        foreach (var (key, value) in records)
        {
            var rest = key.Length + value.Length + 3; // ' ', '=', '\n'
            var length = rest + 1;
            while (length != rest + length.ToString(CultureInfo.InvariantCulture).Length)
            {
                length = rest + length.ToString(CultureInfo.InvariantCulture).Length;
            }

            data.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{length} {key}=")));
            data.Write(value);
            data.WriteByte((byte)'\n');
        }

        return data.ToArray();
    }

    private static byte[] Header(byte type, ReadOnlySpan<byte> path, ReadOnlySpan<byte> link, long size, int mode, ReadOnlySpan<byte> user,
        ReadOnlySpan<byte> group, long uid, long gid, long major, long minor, DateTimeOffset mtime)
    {
        var header = new byte[BlockSize];
        path[..Math.Min(path.Length, NameLength)].CopyTo(header);
        TarFields.Octal(mode, header.AsSpan(100, 8));
        OctalOrZero(uid, header.AsSpan(108, 8));
        OctalOrZero(gid, header.AsSpan(116, 8));
        OctalOrZero(size, header.AsSpan(124, 12));
        TarFields.Octal((mtime - Epoch).Ticks / TimeSpan.TicksPerSecond, header.AsSpan(136, 12));
        header[156] = type;
        link[..Math.Min(link.Length, NameLength)].CopyTo(header.AsSpan(157));
        "ustar\0"u8.CopyTo(header.AsSpan(257));
        "00"u8.CopyTo(header.AsSpan(263));
        user[..Math.Min(user.Length, OwnerNameLength - 1)].CopyTo(header.AsSpan(265));
        group[..Math.Min(group.Length, OwnerNameLength - 1)].CopyTo(header.AsSpan(297));
        if (type is (byte)PaxEntryType.CharacterDevice or (byte)PaxEntryType.BlockDevice)
        {
            OctalOrZero(major, header.AsSpan(329, 8));
            OctalOrZero(minor, header.AsSpan(337, 8));
        }

        TarFields.Checksum(header);
        return header;
    }

    // A value too large for its field is in a pax record (owners, size): the field says 0.
    private static void OctalOrZero(long value, Span<byte> field) =>
        TarFields.Octal(TarFields.FitsOctal(value, field.Length) ? value : 0, field);
}
