namespace Coffer.Conformance.Support;

/// <summary>
/// A writable sink that holds the first write until the test opens it: lets a test keep a volume
/// read "in flight" and see what else the volume does meanwhile.
/// </summary>
public sealed class GateStream : Stream
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the first write arrived (and is being held).</summary>
    public Task Entered => _entered.Task;

    /// <summary>Lets the held write, and every later one, through.</summary>
    public void Open() => _opened.TrySetResult();

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException("a gate stream has no length");

    public override long Position
    {
        get => throw new NotSupportedException("a gate stream has no position");
        set => throw new NotSupportedException("a gate stream has no position");
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _entered.TrySetResult();
        await _opened.Task.WaitAsync(cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        _entered.TrySetResult();
        _opened.Task.Wait();
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("a gate stream is write-only");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a gate stream cannot seek");

    public override void SetLength(long value) => throw new NotSupportedException("a gate stream has no length");
}
