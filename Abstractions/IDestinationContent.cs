namespace Coffer.Abstractions;

/// <summary>
/// Optional for a destination (ABI 1.2): what it holds now, so that a restore can leave unchanged files
/// alone (<c>--overwrite</c>), read back what it wrote (<c>--verify</c>) and remove what the snapshot lacks
/// (<c>--delete</c>). A destination that does not implement it is restored to with every file rewritten,
/// and the options that need it are refused.
/// </summary>
public interface IDestinationContent
{
    /// <summary>
    /// Walks what is below the destination's root now, as a source of the same backend would: the root first,
    /// a directory before what it contains, links reported and never followed.
    /// </summary>
    /// <param name="cancellationToken">Cancels the walk.</param>
    /// <returns>The entries.</returns>
    IAsyncEnumerable<TreeEntry> ScanContentAsync(CancellationToken cancellationToken = default);

    /// <summary>Opens a file below the root for reading.</summary>
    /// <param name="path">The file's relative path.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>A stream the caller disposes.</returns>
    /// <exception cref="NotFoundException">The file is not there.</exception>
    /// <exception cref="PathEscapesRootException">The path leads outside the root.</exception>
    Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes a file, a link (never what it points to) or an empty directory below the root; the root itself
    /// is never removed. Nothing there is not an error.
    /// </summary>
    /// <param name="entry">The entry, as <see cref="ScanContentAsync"/> gave it.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the entry is gone.</returns>
    /// <exception cref="PathEscapesRootException">The path leads outside the root.</exception>
    Task DeleteAsync(TreeEntry entry, CancellationToken cancellationToken = default);
}
