using System.Runtime.CompilerServices;
using Coffer.Abstractions;
using Coffer.Plumbing;

namespace Coffer.Engine.Operations.Backup;

/// <summary>
/// <c>backup --stdin</c>: what is piped in, as a source holding one file (a database dump, say). The stream is
/// read once, as the backup reads the file; its size is unknown until then.
/// </summary>
internal sealed class StdinSource : ISourceConnector
{
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode DirectoryMode = FileMode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private readonly Stream _input;
    private readonly byte _first;
    private readonly string _fileName;
    private readonly DateTimeOffset _time;
    private bool _opened;

    private StdinSource(Stream input, byte first, string fileName, DateTimeOffset time)
    {
        _input = input;
        _first = first;
        _fileName = fileName;
        _time = time;
    }

    /// <inheritdoc/>
    public string Description => "standard input";

    /// <summary>Reads the input's first byte, so an empty input is refused before anything is stored.</summary>
    /// <param name="input">The piped input; the source does not dispose it.</param>
    /// <param name="fileName">The file's name in the snapshot.</param>
    /// <param name="time">The file's modification time.</param>
    /// <param name="cancellationToken">Cancels the wait for the first byte.</param>
    /// <returns>The source, or null when nothing was piped in.</returns>
    public static async Task<StdinSource?> OpenAsync(Stream input, string fileName, DateTimeOffset time, CancellationToken cancellationToken)
    {
        var first = new byte[1];
        return await input.ReadAsync(first, cancellationToken).ConfigureAwait(false) == 0 ? null : new StdinSource(input, first[0], fileName, time);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<TreeEntry> ScanAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield return new TreeEntry("", EntryKind.Directory) { ModifiedTime = _time, Mode = DirectoryMode };
        yield return new TreeEntry(_fileName, EntryKind.File) { ModifiedTime = _time, Mode = FileMode };
    }

    /// <inheritdoc/>
    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        if (path != _fileName || _opened)
        {
            // The input can be read only once; a tag-file probe asks for other names.
            throw new NotFoundException($"{path}: not in the piped input");
        }

        _opened = true;
        return Task.FromResult<Stream>(new FirstByteStream(_first, _input));
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The byte read to see that the input is not empty, then the rest of the input.</summary>
    private sealed class FirstByteStream(byte first, Stream rest) : ReadOnlyStream
    {
        private bool _firstGiven;

        public override int Read(Span<byte> buffer)
        {
            if (_firstGiven || buffer.IsEmpty)
            {
                return rest.Read(buffer);
            }

            buffer[0] = first;
            _firstGiven = true;
            return 1;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_firstGiven || buffer.IsEmpty)
            {
                return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }

            buffer.Span[0] = first;
            _firstGiven = true;
            return 1;
        }
    }
}
