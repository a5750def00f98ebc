using System.Security.Cryptography;

namespace Coffer.Engine.Core.Chunking;

/// <summary>
/// Cuts a stream into content-defined chunks, hashing the whole content (SHA-256) on the way. Reads through
/// one window of one and a half maximum chunks (the caller's, or rented); each chunk is handed out in a
/// buffer rented from the shared pool that the receiver returns.
/// </summary>
internal sealed class ChunkReader : IDisposable
{
    private readonly FastCdc _chunker;
    private readonly Stream _stream;
    private byte[] _window;
    private readonly IncrementalHash _sha256;
    private readonly bool _ownsHash;
    private int _start;
    private int _end;
    private bool _eof;
    private bool _ownsWindow = true;

    /// <param name="chunker">The store's chunker.</param>
    /// <param name="stream">The content.</param>
    /// <param name="expectedLength">The size the source reported: a small file gets a small window.</param>
    /// <param name="window">A window the caller owns and reuses from file to file, at least <see cref="WindowSize"/> long; null: one is rented for this stream.</param>
    /// <param name="contentHash">A hash the caller owns that what is read is added to (a sparse file's runs and holes go into one); null: this reader's own, see <see cref="ContentHash"/>.</param>
    public ChunkReader(FastCdc chunker, Stream stream, long expectedLength, byte[]? window = null, IncrementalHash? contentHash = null)
    {
        _chunker = chunker;
        _stream = stream;
        _ownsHash = contentHash is null;
        _sha256 = contentHash ?? IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (window is not null)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(window.Length, WindowSize(chunker), nameof(window));
            _window = window;
            _ownsWindow = false;
        }
        else
        {
            _window = BlobBuffers.Pool.Rent((int)Math.Clamp(expectedLength + 4096, 64 * 1024, WindowSize(chunker)));
        }
    }

    /// <summary>The largest window a reader of <paramref name="chunker"/>'s chunks needs: one and a half maximum chunks.</summary>
    public static int WindowSize(FastCdc chunker) => chunker.MaxSize + (chunker.MaxSize >> 1);

    public long BytesRead { get; private set; }

    /// <summary>The next chunk, or null at the end. The caller returns <c>Buffer</c> to <see cref="BlobBuffers.Pool"/>.</summary>
    public async ValueTask<(byte[] Buffer, int Length)?> NextAsync(CancellationToken cancellationToken)
    {
        // Fill until a whole maximum chunk is in view, or the input ends.
        while (!_eof && _end - _start < _chunker.MaxSize)
        {
            if (_end == _window.Length || (_start > 0 && _window.Length - _end < _chunker.MaxSize / 2))
            {
                if (_start == 0)
                {
                    // The file is larger than its reported size (it grew): widen the window.
                    var wider = BlobBuffers.Pool.Rent(Math.Min(_window.Length * 2, WindowSize(_chunker)));
                    Buffer.BlockCopy(_window, 0, wider, 0, _end);
                    if (_ownsWindow)
                    {
                        BlobBuffers.Pool.Return(_window);
                    }

                    _window = wider;
                    _ownsWindow = true;
                    continue;
                }

                // Slide what is left to the front; at most one maximum chunk is copied per slide.
                Buffer.BlockCopy(_window, _start, _window, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            var read = await _stream.ReadAsync(_window.AsMemory(_end, _window.Length - _end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _eof = true;
                break;
            }

            _sha256.AppendData(_window, _end, read);
            _end += read;
            BytesRead += read;
        }

        if (_end == _start)
        {
            return null;
        }

        var length = _chunker.NextBoundary(_window.AsSpan(_start, _end - _start));
        var chunk = BlobBuffers.Pool.Rent(length);
        Buffer.BlockCopy(_window, _start, chunk, 0, length);
        _start += length;
        return (chunk, length);
    }

    /// <summary>The SHA-256 of everything read; call once, after the last chunk, and only when the reader has its own hash.</summary>
    public byte[] ContentHash() => _sha256.GetHashAndReset();

    public void Dispose()
    {
        if (_ownsWindow)
        {
            BlobBuffers.Pool.Return(_window);
        }

        if (_ownsHash)
        {
            _sha256.Dispose();
        }
    }
}
