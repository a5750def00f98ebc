namespace Coffer.Abstractions;

/// <summary>What a backup reads: a tree of entries and a lazy way to open a file's content.</summary>
public interface ISourceConnector : IAsyncDisposable
{
    /// <summary>A human description of the source; never holds secrets.</summary>
    string Description { get; }

    /// <summary>
    /// Walks the tree below the root. The root comes first (path <c>""</c>), a directory before what it
    /// contains and everything below it together, right after it (depth first): a backup writes a directory's
    /// tree once the walk has left it. An entry that cannot be read is yielded with <see cref="TreeEntry.Error"/> set, and the walk goes on.
    /// </summary>
    /// <param name="cancellationToken">Cancels the walk.</param>
    /// <returns>The entries.</returns>
    IAsyncEnumerable<TreeEntry> ScanAsync(CancellationToken cancellationToken = default);

    /// <summary>Opens a file's content for reading.</summary>
    /// <param name="path">A file's path as <see cref="ScanAsync"/> gave it.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>A stream the caller disposes.</returns>
    /// <exception cref="NotFoundException">The file is gone.</exception>
    /// <exception cref="PathEscapesRootException">The path leads outside the root.</exception>
    Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default);
}
