using System.Buffers;
using System.Text;

namespace Coffer.Plumbing;

/// <summary>The kinds of entry the ustar reader accepts; every other tar entry type is refused.</summary>
public enum UstarEntryKind
{
    /// <summary>A regular file (type <c>0</c> or NUL).</summary>
    File,

    /// <summary>A directory (type <c>5</c>); it carries no data.</summary>
    Directory,
}

/// <summary>One entry header.</summary>
/// <param name="Path">The raw path as written in the archive (ustar prefix joined).</param>
/// <param name="Kind">File or directory.</param>
/// <param name="Size">The data size; 0 for a directory.</param>
/// <param name="DataOffset">Where the data starts, counted from where the reader started.</param>
public sealed record UstarEntry(string Path, UstarEntryKind Kind, long Size, long DataOffset);

/// <summary>
/// A deliberately small and strict reader of POSIX ustar (and plain GNU) tar headers. System.Formats.Tar
/// would also read pax and GNU long-name records, whose sizes come from the header and are buffered whole
/// before anyone can check them; coffer's archives need none of that, so this reader accepts regular
/// files and directories only and refuses every other entry type with a reason. Data is streamed, never
/// buffered; over a seekable stream, skipped data is seeked over rather than read.
/// </summary>
/// <param name="stream">The archive, positioned at its first header.</param>
public sealed class UstarReader(Stream stream)
{
    private const int BlockSize = 512;
    private const int CopyBufferSize = 81920;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] _block = new byte[BlockSize];
    private long _remaining;
    private int _padding;
    private string? _current;
    private long _offset;

    /// <summary>Reads the next header, skipping whatever is left of the current entry.</summary>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The entry; null at the end-of-archive marker.</returns>
    /// <exception cref="TarFormatException">The archive is truncated, damaged or holds an entry of another type.</exception>
    public async ValueTask<UstarEntry?> NextAsync(CancellationToken cancellationToken)
    {
        await SkipAsync(_remaining + _padding, cancellationToken).ConfigureAwait(false);
        _remaining = 0;
        _padding = 0;
        var first = _current is null && _offset == 0;
        var headerOffset = _offset;
        var read = await stream.ReadAtLeastAsync(_block, BlockSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        _offset += read;
        if (read < BlockSize)
        {
            throw first ? new TarFormatException(TarProblem.NotAnArchive, null, "empty or not a tar archive") : Truncated();
        }

        if (Array.TrueForAll(_block, b => b == 0))
        {
            return first ? throw new TarFormatException(TarProblem.EmptyArchive, null, "an empty tar archive") : null;
        }

        var magic = _block.AsSpan(257, 8);
        var isUstar = magic.SequenceEqual("ustar\000"u8);
        var isGnu = magic.SequenceEqual("ustar  \0"u8);
        if ((!isUstar && !isGnu) || !ChecksumMatches())
        {
            throw first
                ? new TarFormatException(TarProblem.NotUstar, null, "not a ustar tar archive")
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
            '0' or '\0' => UstarEntryKind.File,
            '5' => UstarEntryKind.Directory,
            '1' or '2' => throw NotRegular(name, "is a link"),
            '3' or '4' => throw NotRegular(name, "is a device"),
            '6' => throw NotRegular(name, "is a FIFO"),
            'x' or 'g' => throw new TarFormatException(TarProblem.Extension, name, "is a pax extended header"),
            'L' or 'K' => throw new TarFormatException(TarProblem.Extension, name, "is a GNU long-name record"),
            _ => throw NotRegular(name, $"has unsupported tar entry type '{(char.IsControl(type) ? '?' : type)}'"),
        };
        if (kind == UstarEntryKind.Directory)
        {
            size = 0; // a directory's size field carries nothing; never read data for one
        }

        _current = name;
        _remaining = size;
        _padding = (int)((BlockSize - (size % BlockSize)) % BlockSize);
        return new UstarEntry(name, kind, size, _offset);
    }

    /// <summary>Reads the current entry's data in chunks, handing each to <paramref name="sink"/>.</summary>
    /// <param name="sink">Receives each chunk; the memory is reused after it returns.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>A task that completes when the data is read.</returns>
    public async ValueTask ReadDataAsync(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var count = _remaining;
        _remaining = 0;
        await ConsumeAsync(count, sink, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads what follows the end-of-archive marker, so a compressed stream's checksum is verified too.</summary>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>A task that completes at the end of the stream.</returns>
    public async ValueTask DrainAsync(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            while (await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private TarFormatException Truncated() =>
        new(TarProblem.Truncated, _current, $"it ends {(_current is null ? "before the first entry" : $"in or after '{_current}'")}");

    private static TarFormatException Corrupt(string detail) => new(TarProblem.Corrupt, null, detail);

    private static TarFormatException NotRegular(string name, string why) => new(TarProblem.NotRegular, name, why);

    // A seekable archive (a portable store of many GiB) is skipped through, not read.
    private async ValueTask SkipAsync(long count, CancellationToken cancellationToken)
    {
        if (count == 0 || !stream.CanSeek)
        {
            await ConsumeAsync(count, null, cancellationToken).ConfigureAwait(false);
            return;
        }

        var start = stream.Position;
        if (stream.Length - start < count)
        {
            throw Truncated();
        }

        stream.Position = start + count;
        _offset += count;
    }

    // Reads exactly count bytes, handing them to sink (or dropping them); too few is a truncated archive.
    private async ValueTask ConsumeAsync(long count, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>? sink, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            while (count > 0)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken).ConfigureAwait(false);
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

    private static long Size(ReadOnlySpan<byte> field, long headerOffset)
    {
        if ((field[0] & 0x80) != 0)
        {
            // GNU base-256 for sizes of 8 GiB and more: read it, so the caller's size limit says no clearly.
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

    private static string Text(ReadOnlySpan<byte> field)
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
}
