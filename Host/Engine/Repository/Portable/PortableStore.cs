using System.Runtime.CompilerServices;
using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Plumbing;

namespace Coffer.Engine.Repository.Portable;

/// <summary>
/// A portable store: one snapshot's objects in one uncompressed POSIX ustar file (docs/store-format.md,
/// "Portable stores"): <c>CONFIG</c> first, then <c>packfiles/NAME</c>, <c>index/NAME</c>,
/// <c>snapshots/NAME</c>. Uncompressed so that a blob is one ranged read. Read here as a read-only storage.
/// </summary>
internal sealed class PortableStore : IStorageConnector
{
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
            try
            {
                // Seekable, so the reader skips each entry's data instead of reading it.
                var reader = new UstarReader(stream);
                while (await reader.NextAsync(cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    if (entry.Kind != UstarEntryKind.File)
                    {
                        throw NotPortable(path, $"entry '{entry.Path}' is not a regular file");
                    }

                    if (entries.Count == 0 && entry.Path != "CONFIG")
                    {
                        throw NotPortable(path, "it does not start with CONFIG");
                    }

                    if (!entries.TryAdd(entry.Path, (entry.DataOffset, entry.Size)))
                    {
                        throw NotPortable(path, $"entry '{entry.Path}' is repeated");
                    }
                }
            }
            catch (TarFormatException e)
            {
                throw NotPortable(path, e.Problem switch
                {
                    TarProblem.NotAnArchive => "it ends inside a header",
                    TarProblem.EmptyArchive => "it does not start with CONFIG",
                    TarProblem.NotRegular or TarProblem.Extension => $"entry '{e.Entry}' is not a regular file",
                    _ => e.Message,
                });
            }
        }

        return new PortableStore(path, entries);
    }

    /// <summary>Writes a portable store: CONFIG, then the given objects, each opened when it is written.</summary>
    public static Task WriteAsync(string path, byte[] config, IReadOnlyList<(StorageObjectClass Class, string Name, long Size, Func<CancellationToken, Task<Stream>> Open)> objects, CancellationToken cancellationToken) =>
        DurableFile.WriteAsync(
            path,
            async (output, ct) =>
            {
                var tar = new UstarWriter(output);
                await tar.WriteFileAsync("CONFIG", config.Length, new MemoryStream(config), ct).ConfigureAwait(false);
                foreach (var (objectClass, name, size, open) in objects)
                {
                    var content = await open(ct).ConfigureAwait(false);
                    await using (content.ConfigureAwait(false))
                    {
                        try
                        {
                            await tar.WriteFileAsync($"{Folder(objectClass)}/{name}", size, content, ct).ConfigureAwait(false);
                        }
                        catch (TarFormatException e) when (e.Problem == TarProblem.SizeMismatch)
                        {
                            throw new StoreFormatException($"{Folder(objectClass)}/{name} changed size while it was exported", e);
                        }
                    }
                }

                await tar.FinishAsync(ct).ConfigureAwait(false);
            },
            DurableFile.Readable,
            cancellationToken);

    private static StoreFormatException NotPortable(string path, string why) => new($"{path} is not a coffer portable store: {why}");

    private static string Folder(StorageObjectClass objectClass) => objectClass switch
    {
        StorageObjectClass.Packfile => "packfiles",
        StorageObjectClass.Index => "index",
        StorageObjectClass.Snapshot => "snapshots",
        StorageObjectClass.Key => "keys",
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
}
