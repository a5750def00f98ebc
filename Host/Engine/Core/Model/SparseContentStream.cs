using Coffer.Abstractions;
using Coffer.Plumbing;

namespace Coffer.Engine.Core.Model;

/// <summary>
/// The whole content of a file stored with holes: its data runs read from the stream of its chunks, zeros for
/// the holes. A destination that knows <see cref="ISparseContent"/> skips the holes instead of reading them.
/// </summary>
/// <param name="stored">The runs' bytes concatenated (the file's chunks); owned.</param>
/// <param name="runs">The data runs, checked (<see cref="FileExtents.Runs"/>).</param>
/// <param name="length">The content's length, holes included.</param>
/// <param name="path">The file, for messages.</param>
internal sealed class SparseContentStream(Stream stored, IReadOnlyList<DataRun> runs, long length, string path) : ReadOnlyStream, ISparseContent
{
    private long _position;
    private int _run;

    public long ContentLength => length;

    public IReadOnlyList<DataRun> DataRuns => runs;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public void SkipTo(long position)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(position, _position);
        PassRunsBehind();
        // In data, the hole ends where we are; in a hole, where the next run starts.
        var holeEnd = Math.Max(_run < runs.Count ? runs[_run].Offset : length, _position);
        if (position > holeEnd)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, $"{path}: only holes can be skipped");
        }

        _position = position;
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        var (inData, count) = Next(buffer.Length);
        if (!inData)
        {
            buffer[..count].Clear();
            _position += count;
            return count == 0 ? EndOfContent(stored.Read([0])) : count;
        }

        return Advance(stored.Read(buffer[..count]));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        var (inData, count) = Next(buffer.Length);
        if (!inData)
        {
            buffer.Span[..count].Clear();
            _position += count;
            return count == 0 ? EndOfContent(await stored.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false)) : count;
        }

        return Advance(await stored.ReadAsync(buffer[..count], cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Whether the next bytes are data (else a hole, or the end) and how many of them fit <paramref name="room"/>.</summary>
    private (bool InData, int Count) Next(int room)
    {
        PassRunsBehind();

        if (_run < runs.Count && runs[_run].Offset <= _position)
        {
            return (true, (int)Math.Min(room, runs[_run].End - _position));
        }

        var holeEnd = _run < runs.Count ? runs[_run].Offset : length;
        return (false, (int)Math.Min(room, holeEnd - _position));
    }

    private void PassRunsBehind()
    {
        while (_run < runs.Count && runs[_run].End <= _position)
        {
            _run++;
        }
    }

    private int Advance(int read)
    {
        if (read == 0)
        {
            throw new StoreFormatException($"{path}: its stored content is shorter than its extents: the store is damaged");
        }

        _position += read;
        return read;
    }

    private int EndOfContent(int readPastEnd) => readPastEnd == 0
        ? 0
        : throw new StoreFormatException($"{path}: its stored content is longer than its extents: the store is damaged");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            stored.Dispose();
        }

        base.Dispose(disposing);
    }
}
