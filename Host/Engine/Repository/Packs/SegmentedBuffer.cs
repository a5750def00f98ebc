using Coffer.Engine.Core;

namespace Coffer.Engine.Repository.Packs;

/// <summary>
/// A growing byte buffer made of 1 MiB pooled segments: a pack takes the memory its content needs, not a
/// power-of-two rounding of its largest possible size, and growing never copies what is already there.
/// </summary>
internal sealed class SegmentedBuffer : IDisposable
{
    private const int SegmentSize = 1 << 20;
    private readonly List<byte[]> _segments = [];

    public int Length { get; private set; }

    public void Append(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var within = Length % SegmentSize;
            if (within == 0 && Length / SegmentSize == _segments.Count)
            {
                _segments.Add(BlobBuffers.Pool.Rent(SegmentSize));
            }

            var count = Math.Min(SegmentSize - within, data.Length);
            data[..count].CopyTo(_segments[Length / SegmentSize].AsSpan(within));
            Length += count;
            data = data[count..];
        }
    }

    /// <summary>The content, segment by segment.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Segments()
    {
        for (var i = 0; i * SegmentSize < Length; i++)
        {
            yield return _segments[i].AsMemory(0, Math.Min(SegmentSize, Length - i * SegmentSize));
        }
    }

    /// <summary>A stream reading the content (for a put); it does not own the buffer.</summary>
    public Stream OpenRead() => new Reader(this);

    public void Dispose()
    {
        foreach (var segment in _segments)
        {
            BlobBuffers.Pool.Return(segment);
        }

        _segments.Clear();
        Length = 0;
    }

    private sealed class Reader(SegmentedBuffer buffer) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => buffer.Length;

        public override long Position
        {
            get => _position;
            set => _position = Math.Clamp(value, 0, buffer.Length);
        }

        public override int Read(byte[] array, int offset, int count) => Read(array.AsSpan(offset, count));

        public override int Read(Span<byte> destination)
        {
            var total = 0;
            while (destination.Length > 0 && _position < buffer.Length)
            {
                var segment = buffer._segments[(int)(_position / SegmentSize)];
                var within = (int)(_position % SegmentSize);
                var count = (int)Math.Min(Math.Min(SegmentSize - within, destination.Length), buffer.Length - _position);
                segment.AsSpan(within, count).CopyTo(destination);
                destination = destination[count..];
                _position += count;
                total += count;
            }

            return total;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(destination.Span));

        public override Task<int> ReadAsync(byte[] array, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(array.AsSpan(offset, count)));

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => buffer.Length + offset,
        };

        public override void Flush() { }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] array, int offset, int count) => throw new NotSupportedException();
    }
}
