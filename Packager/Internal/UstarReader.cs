using System.Buffers;
using System.Text;

namespace Coffer.Packager.Internal;

/// <summary>The kinds of entry a package may hold; every other tar entry type is refused.</summary>
internal enum TarItemKind
{
    File,
    Directory,
}

/// <summary>One entry header: its raw path (as written in the archive), kind and data size.</summary>
internal sealed record TarItem(string Path, TarItemKind Kind, long Size);

/// <summary>
/// A deliberately small reader of POSIX ustar (and plain GNU) tar headers. System.Formats.Tar would also
/// read pax and GNU long-name records, whose sizes come from the header and are buffered whole before
/// anyone can check them; a package needs none of that, so this reader accepts regular files and
/// directories only and refuses every other entry type with a reason.
/// </summary>
internal sealed class UstarReader
{
    private const int BlockSize = 512;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Stream _stream;
    private readonly string _archiveName;
    private readonly byte[] _block = new byte[BlockSize];
    private long _remaining;
    private int _padding;
    private string? _current;
    private long _offset;

    public UstarReader(Stream stream, string archiveName)
    {
        _stream = stream;
        _archiveName = archiveName;
    }

    /// <summary>Reads the next header, skipping whatever is left of the current entry; null at the end-of-archive marker.</summary>
    public async ValueTask<TarItem?> NextAsync(CancellationToken cancellationToken)
    {
        await ConsumeAsync(_remaining + _padding, null, cancellationToken).ConfigureAwait(false);
        _remaining = 0;
        _padding = 0;
        var first = _current is null && _offset == 0;
        var headerOffset = _offset;
        var read = await _stream.ReadAtLeastAsync(_block, BlockSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        _offset += read;
        if (read < BlockSize)
        {
            throw first
                ? new PackageException($"{_archiveName} is not a coffer package (empty or not a tar archive): check that you have the right file")
                : Truncated();
        }

        if (Array.TrueForAll(_block, b => b == 0))
        {
            if (first)
            {
                throw new PackageException($"{_archiveName} is not a coffer package (an empty tar archive): check that you have the right file");
            }

            return null;
        }

        var magic = _block.AsSpan(257, 8);
        var isUstar = magic.SequenceEqual("ustar\000"u8);
        var isGnu = magic.SequenceEqual("ustar  \0"u8);
        if ((!isUstar && !isGnu) || !ChecksumMatches())
        {
            throw first
                ? new PackageException($"{_archiveName} is not a coffer package (not a ustar tar archive): check that you have the right file")
                : Corrupt($"bad tar header at byte {headerOffset}");
        }

        var name = Text(_block.AsSpan(0, 100));
        if (isUstar)
        {
            // ustar keeps long paths as prefix + "/" + name; the GNU format uses those bytes for other things.
            var prefix = Text(_block.AsSpan(345, 155));
            if (prefix.Length > 0)
            {
                name = prefix + "/" + name;
            }
        }

        var size = Size(_block.AsSpan(124, 12), headerOffset);
        var type = (char)_block[156];
        var kind = type switch
        {
            '0' or '\0' => TarItemKind.File,
            '5' => TarItemKind.Directory,
            '1' or '2' => throw Refused(name, "is a link; packages hold regular files only"),
            '3' or '4' => throw Refused(name, "is a device; packages hold regular files only"),
            '6' => throw Refused(name, "is a FIFO; packages hold regular files only"),
            'x' or 'g' => throw Refused(name, "is a pax extended header; write the package as ustar (tar --format=ustar)"),
            'L' or 'K' => throw Refused(name, "is a GNU long-name record; write the package as ustar (tar --format=ustar)"),
            _ => throw Refused(name, $"has unsupported tar entry type '{(char.IsControl(type) ? '?' : type)}'; packages hold regular files only"),
        };
        if (kind == TarItemKind.Directory)
        {
            size = 0; // a directory's size field carries nothing; never read data for one
        }

        _current = name;
        _remaining = size;
        _padding = (int)((BlockSize - (size % BlockSize)) % BlockSize);
        return new TarItem(name, kind, size);
    }

    /// <summary>Reads the current entry's data in chunks, handing each to <paramref name="sink"/>.</summary>
    public async ValueTask ReadDataAsync(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sink, CancellationToken cancellationToken)
    {
        var count = _remaining;
        _remaining = 0;
        await ConsumeAsync(count, sink, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads what follows the end-of-archive marker, so a gzip stream's checksum is verified too.</summary>
    public async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (await _stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public PackageException Corrupt(string detail) =>
        new($"{_archiveName} is corrupt ({detail}): download or build the package again");

    private PackageException Truncated() =>
        new($"{_archiveName} is truncated (it ends {(_current is null ? "before the first entry" : $"in or after '{_current}'")}): download or build the package again");

    private PackageException Refused(string name, string why) =>
        new($"{_archiveName} is refused: entry '{Printable(name)}' {why}");

    // Reads exactly count bytes, handing them to sink (or dropping them); too few is a truncated archive.
    private async ValueTask ConsumeAsync(long count, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>? sink, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (count > 0)
            {
                var read = await _stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw Truncated();
                }

                count -= read;
                _offset += read;
                if (sink is not null)
                {
                    await sink(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool ChecksumMatches()
    {
        var field = _block.AsSpan(148, 8);
        if (!TryOctal(field, out var stored))
        {
            return false;
        }

        // The checksum is the byte sum with its own field taken as spaces; some old tars summed signed bytes.
        long unsigned = 8 * ' ', signed = 8 * ' ';
        for (var i = 0; i < BlockSize; i++)
        {
            if (i is >= 148 and < 156)
            {
                continue;
            }

            unsigned += _block[i];
            signed += (sbyte)_block[i];
        }

        return stored == unsigned || stored == signed;
    }

    private long Size(ReadOnlySpan<byte> field, long headerOffset)
    {
        if ((field[0] & 0x80) != 0)
        {
            // GNU base-256 for sizes of 8 GiB and more: never a sane package file, but say so clearly.
            if (field[0] != 0x80)
            {
                throw Corrupt($"negative size at byte {headerOffset}");
            }

            long value = 0;
            foreach (var b in field[1..])
            {
                if (value > (long.MaxValue >> 8))
                {
                    throw Corrupt($"impossible size at byte {headerOffset}");
                }

                value = (value << 8) | b;
            }

            return value;
        }

        return TryOctal(field, out var size) ? size : throw Corrupt($"bad size field at byte {headerOffset}");
    }

    private static bool TryOctal(ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        var i = 0;
        while (i < field.Length && field[i] == ' ')
        {
            i++;
        }

        var digits = 0;
        for (; i < field.Length && field[i] is >= (byte)'0' and <= (byte)'7'; i++, digits++)
        {
            if (value > (long.MaxValue >> 3))
            {
                return false;
            }

            value = (value << 3) | (long)(field[i] - '0');
        }

        // What follows the digits may only be terminators.
        for (; i < field.Length; i++)
        {
            if (field[i] is not (0 or (byte)' '))
            {
                return false;
            }
        }

        return digits > 0;
    }

    private string Text(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        var bytes = end < 0 ? field : field[..end];
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Corrupt("an entry name that is not UTF-8");
        }
    }

    /// <summary>A name made safe to print on one line.</summary>
    public static string Printable(string name) =>
        string.Concat(name.Select(c => char.IsControl(c) ? '?' : c));
}
