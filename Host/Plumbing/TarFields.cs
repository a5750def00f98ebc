using System.Buffers;
using System.Text;

namespace Coffer.Plumbing;

/// <summary>What the ustar and pax writers share: numeric fields, the checksum, streamed content and its padding.</summary>
internal static class TarFields
{
    public const int BlockSize = 512;
    private const int CopyBufferSize = 1 << 20;

    /// <summary>Zero-padded octal digits filling the field but its last byte, which stays NUL.</summary>
    public static void Octal(long value, Span<byte> field)
    {
        var digits = Convert.ToString(value, 8);
        if (value < 0 || digits.Length > field.Length - 1)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "too large for a ustar header field");
        }

        Encoding.ASCII.GetBytes(digits.PadLeft(field.Length - 1, '0'), field);
        field[^1] = 0;
    }

    /// <summary>Whether <paramref name="value"/> fits <see cref="Octal"/> in a field of <paramref name="length"/> bytes.</summary>
    public static bool FitsOctal(long value, int length) => value >= 0 && value < 1L << (3 * (length - 1));

    /// <summary>Writes the checksum of a header whose other fields are set: the byte sum with its own field taken as spaces.</summary>
    public static void Checksum(Span<byte> header)
    {
        "        "u8.CopyTo(header[148..]);
        long sum = 0;
        foreach (var b in header)
        {
            sum += b;
        }

        Octal(sum, header.Slice(148, 7));
    }

    /// <summary>Copies exactly <paramref name="size"/> bytes of <paramref name="content"/>, then the zeros up to the next block.</summary>
    /// <exception cref="TarFormatException">The content is longer or shorter than <paramref name="size"/>.</exception>
    public static async Task CopyContentAsync(Stream output, Stream content, long size, string path, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(size + 1, 1, CopyBufferSize));
        try
        {
            long written = 0;
            int read;
            // Never more than size + 1 bytes: the extra one proves the content grew, without writing it.
            while ((read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, size - written + 1)), cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (written + read > size)
                {
                    throw new TarFormatException(TarProblem.SizeMismatch, path, $"'{path}' grew beyond the {size} bytes its header says");
                }

                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                written += read;
            }

            if (written != size)
            {
                throw new TarFormatException(TarProblem.SizeMismatch, path, $"'{path}' has {written} bytes, not the {size} its header says");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await PadAsync(output, size, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the zeros that fill the last block of <paramref name="size"/> bytes of data.</summary>
    public static async Task PadAsync(Stream output, long size, CancellationToken cancellationToken)
    {
        var padding = (int)((BlockSize - (size % BlockSize)) % BlockSize);
        await output.WriteAsync(new byte[padding], cancellationToken).ConfigureAwait(false);
    }
}
