using System.IO.Compression;
using System.Text;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;
using Coffer.Plumbing;

namespace Coffer.Engine.Operations.Dump;

/// <summary>How <c>dump</c> writes what it was given.</summary>
internal enum DumpFormat
{
    /// <summary>A file's content as it is.</summary>
    Content,

    /// <summary>A POSIX (pax) tar stream: modes, owners, mtimes to the tick, symlinks.</summary>
    Tar,

    /// <summary>A zip stream: Unix modes and symlinks as Info-ZIP records them, mtimes to 2 seconds (the format's limit).</summary>
    Zip,
}

/// <summary>What a dump wrote: the format, how many entries (files, directories, links) and how many bytes of file content.</summary>
internal sealed record DumpResult(DumpFormat Format, long Entries, long Bytes);

/// <summary>
/// Writes a file of a snapshot as its content, or a directory (or file) as a tar or zip stream, to any
/// stream: the stream needs neither seeking nor a known length, so it can be a pipe.
/// </summary>
internal sealed class SnapshotDump
{
    private const int DefaultFileMode = 0b110_100_100;      // 0644, for a source that records no modes
    private const int DefaultDirectoryMode = 0b111_101_101; // 0755
    private const int UnixTypeDirectory = 0x4000;           // S_IFDIR, in a zip entry's external attributes
    private const int UnixTypeRegular = 0x8000;             // S_IFREG
    private const int UnixTypeSymlink = 0xA000;             // S_IFLNK

    private readonly CofferStore _store;

    public SnapshotDump(CofferStore store) => _store = store;

    /// <summary>The format a dump of <paramref name="node"/> uses: the one asked for, else a file's content or a directory's tar.</summary>
    public static DumpFormat FormatFor(Node node, DumpFormat? requested) =>
        requested ?? (node.Kind == Node.FileKind ? DumpFormat.Content : DumpFormat.Tar);

    /// <summary>Writes <paramref name="node"/> (found at <paramref name="path"/> in <paramref name="snapshot"/>) to <paramref name="output"/>.</summary>
    /// <exception cref="ArgumentException"><see cref="DumpFormat.Content"/> of something that is not a file.</exception>
    public async Task<DumpResult> WriteAsync(Snapshot snapshot, Node node, string path, DumpFormat format, Stream output, CancellationToken cancellationToken)
    {
        if (format == DumpFormat.Content)
        {
            if (node.Kind != Node.FileKind)
            {
                throw new ArgumentException($"only a file can be dumped as its content, not a {node.Kind}", nameof(format));
            }

            var content = OpenContent(node, path);
            await using (content.ConfigureAwait(false))
            {
                await content.CopyToAsync(output, 1 << 20, cancellationToken).ConfigureAwait(false);
            }

            return new DumpResult(format, 1, node.Size);
        }

        // A directory's entries are named below it, as restore writes them into its target; a file is
        // named by its own name (checked as restore does: a tampered tree must not name a path).
        var rootPath = node.Kind == Node.DirectoryKind ? "" : node.Name;
        if (rootPath.Length > 0 && !Node.IsSafeName(rootPath))
        {
            throw new StoreFormatException($"snapshot {snapshot.ShortId} names its file {Node.Quote(rootPath)}, which is not a plain name: the store is damaged or was tampered with");
        }

        long entries = 0, bytes = 0;
        var firstLinked = new Dictionary<string, string>(StringComparer.Ordinal);
        var archive = format == DumpFormat.Tar ? (IArchiveWriter)new TarArchiveWriter(output) : new ZipArchiveWriter(output);
        await using (archive.ConfigureAwait(false))
        {
            await foreach (var (entryPath, entry) in _store.WalkAsync(node, rootPath, cancellationToken).ConfigureAwait(false))
            {
                if (entryPath.Length == 0)
                {
                    continue;
                }

                // Tar has no sockets and zip no special files at all: left out, as tar(1) does.
                if (entry.Kind == Node.SocketKind || (entry.IsSpecial && format != DumpFormat.Tar))
                {
                    continue;
                }

                // A later name of a hard-linked file is a tar hard link to the first one, without its content again.
                if (format == DumpFormat.Tar && entry.Links > 1 && entry.FileId is { } fileId && !firstLinked.TryAdd(fileId, entryPath))
                {
                    await archive.WriteAsync(entryPath, entry with { Kind = HardLinkKind, Target = firstLinked[fileId] }, null, cancellationToken).ConfigureAwait(false);
                    entries++;
                    continue;
                }

                if (entry.Kind == Node.FileKind)
                {
                    var content = OpenContent(entry, entryPath);
                    await using (content.ConfigureAwait(false))
                    {
                        await archive.WriteAsync(entryPath, entry, content, cancellationToken).ConfigureAwait(false);
                    }
                }
                else
                {
                    await archive.WriteAsync(entryPath, entry, null, cancellationToken).ConfigureAwait(false);
                }

                entries++;
                bytes += entry.Kind == Node.FileKind ? entry.Size : 0;
            }
        }

        return new DumpResult(format, entries, bytes);
    }

    // Only within a dump: the kind a later name of a hard-linked file is written with (its Target the first name).
    private const string HardLinkKind = "hardlink";

    private SizedContentStream OpenContent(Node file, string path) =>
        new(FileExtents.Open(file, new BlobSequenceStream(_store, file.Content ?? [], expectedSha256: null, path), path), file.Size, path);

    private static int ModeOf(Node node) =>
        node.Mode is { } mode ? mode & 0xFFF : node.Kind == Node.DirectoryKind ? DefaultDirectoryMode : DefaultFileMode;

    private interface IArchiveWriter : IAsyncDisposable
    {
        Task WriteAsync(string path, Node node, Stream? content, CancellationToken cancellationToken);
    }

    private sealed class TarArchiveWriter(Stream output) : IArchiveWriter
    {
        // Pax, not ustar: no 100-byte name limit, mtimes below the second, owners of any size, and names that are
        // not UTF-8 written as their bytes (System.Formats.Tar's writer would replace those bytes with U+FFFD).
        private readonly PaxWriter _writer = new(output);

        public async Task WriteAsync(string path, Node node, Stream? content, CancellationToken cancellationToken)
        {
            var (type, name) = node.Kind switch
            {
                Node.DirectoryKind => (PaxEntryType.Directory, path + "/"),
                Node.SymlinkKind => (PaxEntryType.SymbolicLink, path),
                HardLinkKind => (PaxEntryType.HardLink, path),
                Node.FifoKind => (PaxEntryType.Fifo, path),
                Node.CharacterDeviceKind => (PaxEntryType.CharacterDevice, path),
                Node.BlockDeviceKind => (PaxEntryType.BlockDevice, path),
                _ => (PaxEntryType.RegularFile, path),
            };
            var entry = new PaxEntry(type, name)
            {
                Mode = ModeOf(node),
                ModificationTime = node.Mtime,
                UserName = node.User ?? "",
                GroupName = node.Group ?? "",
                LinkPath = node.Target,
            };
            if (node.Rdev is { } rdev && type is PaxEntryType.CharacterDevice or PaxEntryType.BlockDevice)
            {
                // glibc's makedev encoding, undone.
                entry = entry with
                {
                    DeviceMajor = ((rdev >> 8) & 0xFFF) | ((rdev >> 32) & 0xFFFFF000),
                    DeviceMinor = (rdev & 0xFF) | ((rdev >> 12) & 0xFFFFFF00),
                };
            }

            if (node.Uid is { } uid && node.Gid is { } gid && uid >= 0 && gid >= 0)
            {
                entry = entry with { Uid = uid, Gid = gid };
            }

            await _writer.WriteEntryAsync(entry, content is null ? 0 : node.Size, content, cancellationToken).ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync() => await _writer.FinishAsync(CancellationToken.None).ConfigureAwait(false);
    }

    private sealed class ZipArchiveWriter(Stream output) : IArchiveWriter
    {
        private readonly ZipArchive _zip = new(output, ZipArchiveMode.Create, leaveOpen: true);

        public async Task WriteAsync(string path, Node node, Stream? content, CancellationToken cancellationToken)
        {
            var (type, name) = node.Kind switch
            {
                Node.DirectoryKind => (UnixTypeDirectory, path + "/"),
                Node.SymlinkKind => (UnixTypeSymlink, path),
                _ => (UnixTypeRegular, path),
            };

            // Zip times are local wall-clock times (DOS), which unzip reads back in its own time zone.
            var entry = _zip.CreateEntry(name, node.Kind == Node.FileKind ? CompressionLevel.Fastest : CompressionLevel.NoCompression);
            entry.LastWriteTime = node.Mtime.ToLocalTime();
            entry.ExternalAttributes = (type | ModeOf(node)) << 16;
            if (node.Kind == Node.DirectoryKind)
            {
                return;
            }

            var written = await entry.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (written.ConfigureAwait(false))
            {
                if (content is not null)
                {
                    await content.CopyToAsync(written, 1 << 20, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // Info-ZIP stores a symlink as an entry whose content is the target.
                    await written.WriteAsync(Encoding.UTF8.GetBytes(node.Target ?? ""), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        public ValueTask DisposeAsync() => _zip.DisposeAsync();
    }

    /// <summary>
    /// A file's content with the size its node records (it says it can seek and answers Length and Position, for
    /// writers that ask; it cannot move). Content that turns out longer or shorter than the node says fails
    /// here, before a wrong size is left in an archive.
    /// </summary>
    private sealed class SizedContentStream(Stream content, long size, string path) : ReadOnlyStream
    {
        private long _position;
        private bool _disposed;

        public override bool CanSeek => true;

        public override long Length => size;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer) => Counted(content.Read(buffer), buffer.Length);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false), buffer.Length);

        // Stream.DisposeAsync ends in Dispose(true): the content is disposed once, by whichever comes first.
        public override async ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                _disposed = true;
                await content.DisposeAsync().ConfigureAwait(false);
            }

            await base.DisposeAsync().ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                content.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Counted(int read, int requested)
        {
            _position += read;
            if (_position > size || (read == 0 && requested > 0 && _position != size))
            {
                throw new StoreFormatException($"{path}: its content is not the {size} bytes its tree records: the store is damaged, run 'coffer check'");
            }

            return read;
        }
    }
}
