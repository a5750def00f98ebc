using Coffer.Abstractions;
using Coffer.Packager.Repositories;

namespace Coffer.Cli;

/// <summary>
/// A package repository at a connector location (<c>azblob://container/prefix</c>): read and listed through
/// the plugin's source connector, written through its destination connector, so the repository is plain
/// files at their paths under the prefix, which any web server in front of the storage can serve as they are.
/// Neither contract offers conditional writes; <see cref="PackageRepositories.PublishAsync"/> needs none.
/// </summary>
internal sealed class ConnectorRepositoryTransport(CliContext context, ConnectorConfiguration configuration) : IRepositoryTransport
{
    private ISourceConnector? _source;
    private IDestinationConnector? _destination;

    public string Description => configuration.Location;

    public bool CanWrite => true;

    public async Task<bool> ReadAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        var source = await SourceAsync(cancellationToken);
        Stream content;
        try
        {
            content = await source.OpenReadAsync(path, cancellationToken);
        }
        catch (NotFoundException)
        {
            return false;
        }

        await using (content)
        {
            await content.CopyToAsync(destination, cancellationToken);
        }

        return true;
    }

    public async Task WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        _destination ??= await context.Catalog.CreateDestinationAsync(configuration, cancellationToken);
        var entry = new TreeEntry(path, EntryKind.File) { Size = content.CanSeek ? content.Length : 0, ModifiedTime = context.Time.GetUtcNow() };
        await _destination.WriteFileAsync(entry, content, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListAsync(string folder, CancellationToken cancellationToken)
    {
        var source = await SourceAsync(cancellationToken);
        var names = new List<string>();
        await foreach (var entry in source.ScanAsync(cancellationToken))
        {
            if (entry.Kind == EntryKind.File && entry.Error is null && entry.Path.StartsWith(folder + "/", StringComparison.Ordinal)
                && entry.Path.IndexOf('/', folder.Length + 1) < 0)
            {
                names.Add(entry.Path[(folder.Length + 1)..]);
            }
        }

        return names;
    }

    public async ValueTask DisposeAsync()
    {
        if (_source is not null)
        {
            await _source.DisposeAsync();
        }

        if (_destination is not null)
        {
            await _destination.DisposeAsync();
        }
    }

    private async Task<ISourceConnector> SourceAsync(CancellationToken cancellationToken) =>
        _source ??= await context.Catalog.CreateSourceAsync(configuration, cancellationToken);
}
