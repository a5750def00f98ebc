namespace Coffer.Abstractions;

/// <summary>
/// What a restore writes. It never writes outside its root: a path that would escape it (absolute,
/// <c>..</c>, or through an existing link) is refused with <see cref="PathEscapesRootException"/>.
/// </summary>
public interface IDestinationConnector : IAsyncDisposable
{
    /// <summary>A human description of the destination; never holds secrets.</summary>
    string Description { get; }

    /// <summary>Creates a directory (and its parents). Backends without directories may do nothing.</summary>
    /// <param name="entry">The directory.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the directory exists.</returns>
    Task CreateDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default);

    /// <summary>Writes a file from a stream, replacing any file there, then applies the entry's metadata.</summary>
    /// <param name="entry">The file.</param>
    /// <param name="content">Its content, read to the end.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the file is written.</returns>
    Task WriteFileAsync(TreeEntry entry, Stream content, CancellationToken cancellationToken = default);

    /// <summary>Creates a symbolic link. Backends without links store it the way their source reads it back, or refuse.</summary>
    /// <param name="entry">The link, with <see cref="TreeEntry.SymlinkTarget"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the link exists.</returns>
    Task CreateSymlinkAsync(TreeEntry entry, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies a directory's mode and mtime. Called after everything inside it was written, because
    /// writing into a directory changes its mtime.
    /// </summary>
    /// <param name="entry">The directory.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the metadata is applied.</returns>
    Task FinishDirectoryAsync(TreeEntry entry, CancellationToken cancellationToken = default);
}
