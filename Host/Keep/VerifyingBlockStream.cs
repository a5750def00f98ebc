using System.Security.Cryptography;

namespace Coffer.Keep;

/// <summary>
/// Where a HEAD's block goes: nothing is kept or sent, the copy is counted and its MD5 computed, so a corrupt
/// copy or a wrong size hint is found before anything is answered, without a block buffer.
/// </summary>
internal sealed class VerifyingBlockStream : Stream
{
    private readonly string _hash;
    private readonly long _size;
    private readonly byte[] _digest = new byte[16];
#pragma warning disable CA5351 // MD5 is the Keep protocol's block name, not a security primitive.
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
    private long _received;

    /// <summary>Creates the stream.</summary>
    /// <param name="hash">The MD5 hex the block must have.</param>
    /// <param name="size">The block's size, as the locator's size hint gives it.</param>
    public VerifyingBlockStream(string hash, long size)
    {
        _hash = hash;
        _size = size;
    }

    /// <summary>Why the current copy is corrupt, once found out (a volume may wrap the exception).</summary>
    public string? Corruption { get; private set; }

    /// <summary>True when the copy is the block (its MD5 matches) but its length is not the size hint's.</summary>
    public bool SizeMismatch { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _received;

    public override long Position
    {
        get => _received;
        set => throw new NotSupportedException();
    }

    /// <summary>Starts over for another copy.</summary>
    public void Restart()
    {
        _md5.GetHashAndReset(_digest);
        _received = 0;
        Corruption = null;
        SizeMismatch = false;
    }

    /// <summary>
    /// Checks the whole copy. A copy of another length than the size hint whose MD5 matches is the block: the
    /// hint was wrong, not the copy.
    /// </summary>
    /// <exception cref="StoredBlockCorruptException">The copy's MD5 differs, or its length differs from the size hint.</exception>
    public void Finish()
    {
        _md5.GetHashAndReset(_digest);
        var intact = string.Equals(Convert.ToHexStringLower(_digest), _hash, StringComparison.Ordinal);
        if (intact && _received == _size)
        {
            return;
        }

        if (intact)
        {
            SizeMismatch = true;
            throw new StoredBlockCorruptException($"the block has {_received} bytes, not the {_size} of the locator's size hint");
        }

        Corruption = _received == _size ? "its MD5 differs" : $"it has {_received} bytes, the locator {_size}, and its MD5 differs";
        throw new StoredBlockCorruptException(Corruption);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _md5.AppendData(buffer);
        _received += buffer.Length;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush()
    {
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
