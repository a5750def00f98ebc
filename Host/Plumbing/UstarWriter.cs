using System.Text;

namespace Coffer.Plumbing;

/// <summary>
/// Writes a POSIX ustar archive of regular files with fixed owners (0), mode (0644) and time (the epoch),
/// so the same input gives the same bytes: byte for byte what System.Formats.Tar's ustar writer wrote for
/// the same entries before. Content is streamed, and must be exactly as long as declared. Call
/// <see cref="FinishAsync"/> to write the end-of-archive marker.
/// </summary>
/// <param name="output">Receives the archive; not disposed.</param>
public sealed class UstarWriter(Stream output)
{
    private const int BlockSize = TarFields.BlockSize;
    private const int NameLength = 100;
    private const int PrefixLength = 155;

    /// <summary>Writes one regular file.</summary>
    /// <param name="path">Its path in the archive: at most 100 UTF-8 bytes, or 255 split at a '/' into ustar's prefix and name.</param>
    /// <param name="size">Its size, written into the header before the content is read.</param>
    /// <param name="content">The content; read to its end.</param>
    /// <param name="cancellationToken">Cancels writing.</param>
    /// <returns>A task that completes when the entry is written.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> does not fit a ustar header.</exception>
    /// <exception cref="TarFormatException"><paramref name="content"/> is not <paramref name="size"/> bytes long (<see cref="TarProblem.SizeMismatch"/>).</exception>
    public async Task WriteFileAsync(string path, long size, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        await output.WriteAsync(Header(path, size), cancellationToken).ConfigureAwait(false);
        await TarFields.CopyContentAsync(output, content, size, path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the end-of-archive marker: two zero blocks.</summary>
    /// <param name="cancellationToken">Cancels writing.</param>
    /// <returns>A task that completes when the marker is written.</returns>
    public async Task FinishAsync(CancellationToken cancellationToken) =>
        await output.WriteAsync(new byte[2 * BlockSize], cancellationToken).ConfigureAwait(false);

    private static byte[] Header(string path, long size)
    {
        var header = new byte[BlockSize];
        var name = Encoding.UTF8.GetBytes(path);
        if (name.Length > NameLength)
        {
            // ustar keeps a long path as prefix "/" name, split at the last '/' the prefix has room for.
            var split = Array.LastIndexOf(name, (byte)'/', Math.Min(name.Length - 1, PrefixLength));
            if (split <= 0 || name.Length - split - 1 > NameLength || name.Length - split - 1 == 0)
            {
                throw new ArgumentException($"'{path}' is too long for a ustar header (100 bytes, or 155 + 100 split at a '/')", nameof(path));
            }

            name.AsSpan(0, split).CopyTo(header.AsSpan(345));
            name = name[(split + 1)..];
        }

        name.CopyTo(header, 0);
        TarFields.Octal(0b110_100_100, header.AsSpan(100, 8)); // mode 0644
        TarFields.Octal(0, header.AsSpan(108, 8)); // uid
        TarFields.Octal(0, header.AsSpan(116, 8)); // gid
        TarFields.Octal(size, header.AsSpan(124, 12));
        TarFields.Octal(0, header.AsSpan(136, 12)); // mtime: the epoch
        header[156] = (byte)'0';
        "ustar\000"u8.CopyTo(header.AsSpan(257));

        TarFields.Checksum(header);
        return header;
    }
}
