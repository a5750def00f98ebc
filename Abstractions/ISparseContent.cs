namespace Coffer.Abstractions;

// ABI 1.4: sparse content (docs/abi.md). Optional on both sides: a source whose streams lack it is read
// whole, and a destination that ignores it reads the holes as zeros.

/// <summary>One run of a file's content that holds data, at <paramref name="Offset"/>. Since ABI 1.4.</summary>
/// <param name="Offset">Where the run starts in the content.</param>
/// <param name="Length">How many bytes it holds (more than zero).</param>
public readonly record struct DataRun(long Offset, long Length)
{
    /// <summary>The offset just past the run.</summary>
    public long End => Offset + Length;
}

/// <summary>
/// Optional on a file's content stream (ABI 1.4): where its data is. Outside the runs the content is a hole,
/// which reads as zeros. A source may return such a stream from <see cref="ISourceConnector.OpenReadAsync"/>, so
/// a backup reads the runs alone; a restore gives one to <see cref="IDestinationConnector.WriteFileAsync"/> for a
/// file stored with holes, so a destination that can leave holes writes the runs alone and sets the length.
/// Reading the stream from start to end still gives the whole content, zeros for the holes.
/// </summary>
public interface ISparseContent
{
    /// <summary>The content's length, holes included; every run lies within it.</summary>
    long ContentLength { get; }

    /// <summary>The data runs, in order, not overlapping, each more than zero bytes long; empty when the content is all hole.</summary>
    IReadOnlyList<DataRun> DataRuns { get; }

    /// <summary>
    /// Moves the stream forward to <paramref name="position"/> without reading what lies before it. Only holes may
    /// be skipped: the position is at or after the current one, and the bytes skipped are outside every run.
    /// </summary>
    /// <param name="position">Where the next read starts.</param>
    /// <exception cref="ArgumentOutOfRangeException">The position is behind the current one, or skipping to it would skip data.</exception>
    void SkipTo(long position);
}
