using Coffer.Abstractions;
using Coffer.Plumbing;
using Microsoft.Win32.SafeHandles;

namespace Coffer.Plugins.Posix.Internal;

/// <summary>
/// A file opened for a backup: read forward from the start, and able to tell where its data is
/// (<see cref="ISparseContent"/>, found with <see cref="DataExtents"/> when first asked), so the holes of a
/// sparse file are skipped rather than read.
/// </summary>
internal sealed class SparseFileStream : ReadOnlyStream, ISparseContent
{
    private readonly SafeFileHandle _file;
    private readonly string _pathForMessages;
    private IReadOnlyList<DataRun>? _runs;
    private long _position;

    public SparseFileStream(SafeFileHandle file, string pathForMessages)
    {
        _file = file;
        _pathForMessages = pathForMessages;
        ContentLength = RandomAccess.GetLength(file);
    }

    /// <summary>The length when opened; the runs are found within it.</summary>
    public long ContentLength { get; }

    public IReadOnlyList<DataRun> DataRuns => _runs ??= FindRuns();

    private List<DataRun> FindRuns()
    {
        try
        {
            return DataExtents.Find(_file, ContentLength, _pathForMessages).Select(e => new DataRun(e.Offset, e.Length)).ToList();
        }
        catch (IOException)
        {
            // The runs only spare reading holes: a file system that cannot tell them has the file read whole.
            return ContentLength == 0 ? [] : [new DataRun(0, ContentLength)];
        }
    }

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public void SkipTo(long position)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(position, _position);
        _position = position;
    }

    public override int Read(Span<byte> buffer)
    {
        var read = RandomAccess.Read(_file, buffer, _position);
        _position += read;
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await RandomAccess.ReadAsync(_file, buffer, _position, cancellationToken).ConfigureAwait(false);
        _position += read;
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }
}
