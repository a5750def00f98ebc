using System.Threading.Channels;
using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Repository;

namespace Coffer.Engine.Operations.Restore;

/// <summary>
/// Writes a snapshot (or a part of it) to a destination: directories as the walk meets them, files by a
/// few parallel writers each fetching its blobs ahead, links in place, and directory metadata last
/// (deepest first), since writing into a directory changes its mtime.
/// </summary>
internal sealed class RestoreRunner
{
    private const int Writers = 4;

    private readonly CofferStore _store;
    private readonly IDestinationConnector _destination;
    private readonly BackupProgress _progress;

    public RestoreRunner(CofferStore store, IDestinationConnector destination, BackupProgress progress)
    {
        _store = store;
        _destination = destination;
        _progress = progress;
    }

    /// <summary>Entries of the snapshot the backup could not read (their node's error): nothing is written in their place.</summary>
    public IReadOnlyList<(string Path, string Reason)> NotBackedUp => _notBackedUp;

    /// <summary>Directories whose tree cannot be read from the store: their content was skipped, the rest restored.</summary>
    public IReadOnlyList<(string Path, string Reason)> Damaged => _damaged;

    private readonly List<(string Path, string Reason)> _notBackedUp = [];
    private readonly List<(string Path, string Reason)> _damaged = [];

    public async Task<(long Files, long Bytes)> RunAsync(Snapshot snapshot, string path, CancellationToken cancellationToken)
    {
        var top = await _store.ResolveAsync(snapshot, path, cancellationToken).ConfigureAwait(false);
        using var failure = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = failure.Token;
        var files = Channel.CreateBounded<(string Path, Node Node)>(new BoundedChannelOptions(Writers * 4) { SingleWriter = true });
        var directories = new List<(string Path, Node Node)>();
        long fileCount = 0, bytes = 0;

        var writers = Enumerable.Range(0, Writers).Select(_ => Pipeline.Stage(failure, async () =>
        {
            await foreach (var (filePath, node) in files.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                var content = new BlobSequenceStream(_store, node.Content ?? [], expectedSha256: null, filePath);
                await using (content.ConfigureAwait(false))
                {
                    await _destination.WriteFileAsync(node.ToEntry(filePath), content, token).ConfigureAwait(false);
                }

                Interlocked.Increment(ref fileCount);
                Interlocked.Add(ref bytes, node.Size);
                _progress.AddDone(node.Size, file: true);
            }
        }));

        var walk = Pipeline.Stage(failure, async () =>
        {
            try
            {
                // A single file restores under its own name; a directory restores its content into the root.
                var rootPath = top.Kind == Node.DirectoryKind ? "" : top.Name;
                if (rootPath.Length > 0 && !Node.IsSafeName(rootPath))
                {
                    throw new StoreFormatException($"snapshot {snapshot.ShortId} names its file {Node.Quote(rootPath)}, which is not a plain name: the store is damaged or was tampered with");
                }

                await foreach (var (entryPath, node) in _store.WalkAsync(top, rootPath, trees: null, _damaged, token).ConfigureAwait(false))
                {
                    if (node.Error is { } error)
                    {
                        _notBackedUp.Add((entryPath, error));
                        if (node.Kind != Node.DirectoryKind)
                        {
                            // Its content (if any) is not what the source held: an empty or partial file would pass for it.
                            continue;
                        }
                    }

                    switch (node.Kind)
                    {
                        case Node.DirectoryKind:
                            await _destination.CreateDirectoryAsync(node.ToEntry(entryPath), token).ConfigureAwait(false);
                            directories.Add((entryPath, node));
                            break;
                        case Node.SymlinkKind:
                            await _destination.CreateSymlinkAsync(node.ToEntry(entryPath), token).ConfigureAwait(false);
                            break;
                        default:
                            _progress.AddPlanned(node.Size);
                            await files.Writer.WriteAsync((entryPath, node), token).ConfigureAwait(false);
                            break;
                    }
                }
            }
            finally
            {
                files.Writer.TryComplete();
            }
        });

        await Pipeline.WhenAllAsync([walk, .. writers]).ConfigureAwait(false);

        for (var i = directories.Count - 1; i >= 0; i--)
        {
            await _destination.FinishDirectoryAsync(directories[i].Node.ToEntry(directories[i].Path), token).ConfigureAwait(false);
        }

        return (fileCount, bytes);
    }
}
