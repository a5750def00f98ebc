using Coffer.Abstractions;
using Coffer.Plumbing;

namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>
/// A read-only pass-through stream over a download whose read failures become the contracts' exceptions:
/// a body the SDK could not resume after its retries is a one-line <see cref="ConnectorException"/>
/// naming what was read, not an <see cref="AggregateException"/> of socket errors.
/// </summary>
internal sealed class TranslatingReadStream(Stream inner, Func<Exception, ConnectorException?> translate) : ReadOnlyStream
{
    public override int Read(Span<byte> buffer)
    {
        try
        {
            return inner.Read(buffer);
        }
        catch (Exception e) when (translate(e) is { } translated)
        {
            throw translated;
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (translate(e) is { } translated)
        {
            throw translated;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
