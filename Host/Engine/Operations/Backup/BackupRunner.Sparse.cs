using System.Security.Cryptography;
using System.Threading.Channels;
using Coffer.Abstractions;
using Coffer.Engine.Core.Chunking;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository.Packs;
using Coffer.Plumbing;

namespace Coffer.Engine.Operations.Backup;

/// <summary>Backup of a file with holes (docs/store-format.md, "Sparse files").</summary>
internal sealed partial class BackupRunner
{
    /// <summary>
    /// Reads only the data runs of a file whose source reported holes: each run is chunked on its own (the
    /// chunker starts afresh at every run, so a run's chunks do not depend on the runs before it), the chunks
    /// of all runs make the content, the runs the node's extents. The SHA-256 covers the data read (the runs
    /// concatenated, as stored): hashing the holes as zeros would be a pass over bytes never read. A run that
    /// ends early (the file shrank) is recorded as read; the rest is a hole.
    /// </summary>
    private async Task ReadSparseFileAsync(FileState file, Stream stream, ISparseContent sparse, IReadOnlyList<DataRun> runs, byte[] window, ChannelWriter<ChunkWork> chunks, PackUploader uploader, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var read = new List<DataRun>(runs.Count);
        long position = 0;
        foreach (var run in runs)
        {
            _progress.AddDone(run.Offset - position, file: false);
            sparse.SkipTo(run.Offset);
            // Not disposed: the bounded view would dispose the file's stream, which the caller owns.
            var view = new BoundedStream(stream, run.Length);
            using var reader = new ChunkReader(_store.Chunker, view, run.Length, window, hash);
            await AddChunksAsync(file, reader, chunks, uploader, cancellationToken).ConfigureAwait(false);
            if (reader.BytesRead > 0)
            {
                read.Add(new DataRun(run.Offset, reader.BytesRead));
            }

            Interlocked.Add(ref _bytesRead, reader.BytesRead);
            position = run.Offset + reader.BytesRead;
        }

        _progress.AddDone(sparse.ContentLength - position, file: false);
        file.Complete(hash.GetHashAndReset(), sparse.ContentLength, FileExtents.ToNode(read));
    }
}
