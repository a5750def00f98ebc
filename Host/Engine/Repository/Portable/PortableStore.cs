using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Coffer.Abstractions;

using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Core.Chunking;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Crypto;
using Coffer.Engine.Repository.Packs;
using Coffer.Engine.Repository.Locks;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Diff;
using Coffer.Engine.Operations.Retention;
using Coffer.Engine.Operations.Maintenance;

namespace Coffer.Engine.Repository.Portable;

/// <summary>
/// A portable store: one snapshot's objects in one uncompressed POSIX ustar file (docs/store-format.md,
/// "Portable stores"): <c>CONFIG</c> first, then <c>packfiles/NAME</c>, <c>index/NAME</c>,
/// <c>snapshots/NAME</c>. Uncompressed so that a blob is one ranged read. Read here as a read-only storage.
/// </summary>
internal sealed class PortableStore : IStorageConnector
{
    private const int Block = 512;
    private readonly string _path;
    private readonly Dictionary<string, (long Offset, long Size)> _entries;

    private PortableStore(string path, Dictionary<string, (long, long)> entries)
    {
        _path = path;
        _entries = entries;
    }

    public string Description => $"portable store {_path}";

    public StorageMode Mode => StorageMode.ReadOnly;

    /// <summary>Whether a store reference names a portable store: an existing regular file.</summary>
    public static bool IsPortable(string reference) => !reference.Contains("://", StringComparison.Ordinal) && File.Exists(reference);

    public static async Task<PortableStore> OpenFileAsync(string path, CancellationToken cancellationToken)
    {
        var entries = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            var header = new byte[Block];
            long at = 0;
            while (true)
            {
                if (await stream.ReadAtLeastAsync(header, Block, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) < Block)
                {
                    throw new StoreFormatException($"{path} is not a coffer portable store: it ends inside a header");
                }

                at += Block;
                if (header.All(b => b == 0))
                {
                    break;
                }

                var name = Encoding.ASCII.GetString(header, 0, 100).TrimEnd('\0');
                var sizeText = Encoding.ASCII.GetString(header, 124, 12).Trim('\0', ' ');
                if (!long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out _) || header[156] is not ((byte)'0' or 0))
                {
                    throw new StoreFormatException($"{path} is not a coffer portable store: entry '{name}' is not a regular file");
                }

                var size = Convert.ToInt64(sizeText, 8);
                if (entries.Count == 0 && name != "CONFIG")
                {
                    throw new StoreFormatException($"{path} is not a coffer portable store: it does not start with CONFIG");
                }

                if (at + size > stream.Length || !entries.TryAdd(name, (at, size)))
                {
                    throw new StoreFormatException($"{path} is not a coffer portable store: entry '{name}' is cut off or repeated");
                }

                at += (size + Block - 1) / Block * Block;
                stream.Position = at;
            }
        }

        return new PortableStore(path, entries);
    }

    /// <summary>Writes a portable store: CONFIG, then the given objects, each opened when it is written.</summary>
    public static async Task WriteAsync(string path, byte[] config, IReadOnlyList<(StorageObjectClass Class, string Name, long Size, Func<CancellationToken, Task<Stream>> Open)> objects, CancellationToken cancellationToken)
    {
        var temp = path + ".partial";
        var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        try
        {
            await using (output.ConfigureAwait(false))
            {
                await WriteEntryAsync(output, "CONFIG", config.Length, new MemoryStream(config), cancellationToken).ConfigureAwait(false);
                foreach (var (objectClass, name, size, open) in objects)
                {
                    var content = await open(cancellationToken).ConfigureAwait(false);
                    await using (content.ConfigureAwait(false))
                    {
                        await WriteEntryAsync(output, $"{Folder(objectClass)}/{name}", size, content, cancellationToken).ConfigureAwait(false);
                    }
                }

                await output.WriteAsync(new byte[Block * 2], cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                output.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private static async Task WriteEntryAsync(Stream output, string name, long size, Stream content, CancellationToken cancellationToken)
    {
        var header = new byte[Block];
        Encoding.ASCII.GetBytes(name, header.AsSpan(0, 100));
        Encoding.ASCII.GetBytes("0000644\0", header.AsSpan(100));
        Encoding.ASCII.GetBytes("0000000\0", header.AsSpan(108));
        Encoding.ASCII.GetBytes("0000000\0", header.AsSpan(116));
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0", header.AsSpan(124));
        Encoding.ASCII.GetBytes("00000000000\0", header.AsSpan(136));
        header[156] = (byte)'0';
        Encoding.ASCII.GetBytes("ustar\0" + "00", header.AsSpan(257));
        "        "u8.CopyTo(header.AsSpan(148));
        var sum = header.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ", header.AsSpan(148));
        await output.WriteAsync(header, cancellationToken).ConfigureAwait(false);

        var before = output.Position;
        await content.CopyToAsync(output, 1 << 20, cancellationToken).ConfigureAwait(false);
        if (output.Position - before != size)
        {
            throw new StoreFormatException($"{name} changed size while it was exported");
        }

        var pad = (int)((Block - size % Block) % Block);
        await output.WriteAsync(new byte[pad], cancellationToken).ConfigureAwait(false);
    }

    private static string Folder(StorageObjectClass objectClass) => objectClass switch
    {
        StorageObjectClass.Packfile => "packfiles",
        StorageObjectClass.Index => "index",
        StorageObjectClass.Snapshot => "snapshots",
        _ => "locks",
    };

    public Task CreateAsync(ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default) => throw ReadOnly();

    public async Task<byte[]> OpenAsync(CancellationToken cancellationToken = default)
    {
        var stream = await GetEntryAsync("CONFIG", 0, null).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
            return copy.ToArray();
        }
    }

    public Task PutAsync(StorageObjectClass objectClass, string name, Stream content, CancellationToken cancellationToken = default) => throw ReadOnly();

    public Task DeleteAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken = default) => throw ReadOnly();

    public Task<Stream> GetAsync(StorageObjectClass objectClass, string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
        GetEntryAsync($"{Folder(objectClass)}/{name}", offset, length);

    public async IAsyncEnumerable<StorageObject> ListAsync(StorageObjectClass objectClass, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        var prefix = Folder(objectClass) + "/";
        foreach (var (name, (_, size)) in _entries)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                yield return new StorageObject(name[prefix.Length..], size);
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private Task<Stream> GetEntryAsync(string entry, long offset, long? length)
    {
        if (!_entries.TryGetValue(entry, out var at))
        {
            throw new NotFoundException($"{entry} is not in {_path}");
        }

        var count = Math.Max(0, Math.Min(length ?? long.MaxValue, at.Size - offset));
        var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true) { Position = at.Offset + Math.Min(offset, at.Size) };
        return Task.FromResult<Stream>(new BoundedStream(file, count));
    }

    private ConnectorException ReadOnly() => new($"{_path} is a read-only portable store: restore from it, or create a store to write to");

    /// <summary>The next <c>length</c> bytes of a stream it owns.</summary>
    private sealed class BoundedStream(Stream inner, long length) : Stream
    {
        private long _left = length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
            _left -= n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
            _left -= n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
