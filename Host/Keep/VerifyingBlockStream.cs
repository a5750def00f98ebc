using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;

namespace Coffer.Keep;

/// <summary>
/// Passes a block of known size on to the client as a volume reads it, computing its MD5 on the way, and
/// holds back the write that completes the block until the MD5 matches (as keepstore's hashCheckWriter).
/// A corrupt copy, or one longer or shorter than the size hint, therefore reaches the client short of its
/// Content-Length, never whole.
/// </summary>
internal sealed class VerifyingBlockStream : Stream
{
    // Kestrel sends what is flushed; flushing in steps of this size keeps the socket busy without a
    // system call per small write of a volume.
    private const int FlushThreshold = 256 * 1024;

    private readonly PipeWriter? _destination;
    private readonly string _hash;
    private readonly long _size;
    private readonly byte[] _digest = new byte[16];
#pragma warning disable CA5351 // MD5 is the Keep protocol's block name, not a security primitive.
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
    private long _received;
    private long _unflushed;
    private bool _beyondSize;

    /// <summary>Creates the stream.</summary>
    /// <param name="destination">The response body, or null to discard the content (HEAD).</param>
    /// <param name="hash">The MD5 hex the block must have.</param>
    /// <param name="size">The block's size, announced as Content-Length.</param>
    public VerifyingBlockStream(PipeWriter? destination, string hash, long size)
    {
        _destination = destination;
        _hash = hash;
        _size = size;
    }

    /// <summary>Bytes handed on to the client: once non-zero, another copy can no longer be tried.</summary>
    public long BytesPassed { get; private set; }

    /// <summary>Why the current copy is corrupt, once found out (a volume may wrap the exception).</summary>
    public string? Corruption { get; private set; }

    /// <summary>True when the copy is the block (its MD5 matches) but its length is not the size hint's.</summary>
    public bool SizeMismatch { get; private set; }

    /// <summary>True once the whole block arrived and its MD5 matched.</summary>
    public bool Verified { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _received;

    public override long Position
    {
        get => _received;
        set => throw new NotSupportedException();
    }

    /// <summary>Starts over for another copy; only possible while nothing was handed on.</summary>
    public void Restart()
    {
        if (BytesPassed > 0)
        {
            throw new InvalidOperationException("part of a copy was sent already: another copy cannot follow it");
        }

        _md5.GetHashAndReset(_digest);
        _received = 0;
        _beyondSize = false;
        Verified = false;
        Corruption = null;
        SizeMismatch = false;
    }

    /// <summary>
    /// Checks the whole copy (an empty block is verified here) and sends what is left. A copy of another
    /// length than the size hint whose MD5 matches is the block: the hint was wrong, not the copy.
    /// </summary>
    /// <param name="cancellationToken">Cancels the flush.</param>
    /// <returns>A task that completes when the block is flushed.</returns>
    /// <exception cref="StoredBlockCorruptException">The copy's MD5 differs, or its length differs from the size hint.</exception>
    public async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        if (!Verified)
        {
            _md5.GetHashAndReset(_digest);
            var intact = DigestMatches();
            if (intact && _received == _size)
            {
                // Only an empty block gets here: no write carried it.
                Verified = true;
            }
            else if (intact)
            {
                SizeMismatch = true;
                throw new StoredBlockCorruptException($"the block has {_received} bytes, not the {_size} of the locator's size hint");
            }
            else
            {
                throw Corrupt(_received == _size ? "its MD5 differs" : $"it has {_received} bytes, the locator {_size}, and its MD5 differs");
            }
        }

        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _md5.AppendData(buffer);
        if (_beyondSize || _received + buffer.Length > _size)
        {
            // Longer than the hint says: nothing more goes out, but the rest is hashed so FinishAsync can
            // tell a wrong hint (the copy is the block) from a corrupt copy.
            _beyondSize = true;
            Verified = false;
            _received += buffer.Length;
            return;
        }

        _received += buffer.Length;
        if (_received == _size)
        {
            // The write that completes the block goes out only with a matching MD5; with another MD5 more may
            // follow (a wrong hint), which FinishAsync sorts out.
            _md5.GetCurrentHash(_digest);
            if (!DigestMatches())
            {
                return;
            }

            Verified = true;
        }

        if (_destination is not null)
        {
            _destination.Write(buffer);
            _unflushed += buffer.Length;
            BytesPassed += buffer.Length;
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        if (_unflushed >= FlushThreshold)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void WriteByte(byte value) => Write([value]);

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_destination is null || _unflushed == 0)
        {
            return;
        }

        _unflushed = 0;
        var result = await _destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted)
        {
            throw new OperationCanceledException("the client stopped reading");
        }
    }

    public override void Flush()
    {
        // Kestrel allows no synchronous flush; FinishAsync and the asynchronous writes flush.
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _md5.Dispose();
        }

        base.Dispose(disposing);
    }

    private StoredBlockCorruptException Corrupt(string reason)
    {
        Corruption = reason;
        return new StoredBlockCorruptException(reason);
    }

    private bool DigestMatches() => string.Equals(Convert.ToHexStringLower(_digest), _hash, StringComparison.Ordinal);
}

/// <summary>A stored copy of a block is not the block its name says.</summary>
internal sealed class StoredBlockCorruptException : IOException
{
    public StoredBlockCorruptException()
        : base("the stored copy is corrupt")
    {
    }

    public StoredBlockCorruptException(string message)
        : base(message)
    {
    }

    public StoredBlockCorruptException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
