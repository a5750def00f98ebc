using System.Runtime.CompilerServices;
using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;
using Coffer.Plumbing;

namespace Coffer.Plugins.Posix;

/// <summary>
/// A store laid out as a directory: <c>CONFIG</c>, then <c>packfiles/XX/NAME</c> and <c>index/XX/NAME</c>
/// (sharded by the name's first two characters, because there are many), <c>snapshots/NAME</c>,
/// <c>locks/NAME</c> and <c>keys/NAME</c>. Every put goes to a temp file beside its target, is fsynced, renamed into place and
/// its directory fsynced, so an object is either absent or complete.
/// </summary>
internal sealed class DirectoryStorage : IStorageConnector
{
    /// <summary>The name of the config object at the root.</summary>
    public const string ConfigName = "CONFIG";

    // Copies use a buffer this size: big enough for few syscalls, small enough never to matter.
    private const int CopyBufferSize = 1024 * 1024;

    // Private by default whatever the umask, as restic: only the owner reads a store. A store whose
    // CONFIG its owner made group-readable is shared with the group: what is added later follows.
    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode GroupDirectory = PrivateDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;
    private const UnixFileMode GroupFile = DurableFile.Private | UnixFileMode.GroupRead;

    private readonly string _root;
    private readonly UnixFileMode _fileMode;
    private readonly UnixFileMode _directoryMode;

    public DirectoryStorage(string root, StorageMode mode)
    {
        _root = root;
        Mode = mode;
        var shared = SharedWithGroup(Path.Combine(root, ConfigName));
        _fileMode = shared ? GroupFile : DurableFile.Private;
        _directoryMode = shared ? GroupDirectory : PrivateDirectory;
    }

    private static bool SharedWithGroup(string configPath)
    {
        try
        {
            return (File.GetUnixFileMode(configPath) & UnixFileMode.GroupRead) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // no store yet (create makes it private), or not ours to look at
        }
    }

    public string Description => $"directory store {_root}";

    public StorageMode Mode { get; }

    /// <summary>The directory holding a class's objects.</summary>
    public static string ClassDirectory(StorageObjectClass objectClass) => objectClass switch
    {
        StorageObjectClass.Packfile => "packfiles",
        StorageObjectClass.Index => "index",
        StorageObjectClass.Snapshot => "snapshots",
        StorageObjectClass.Lock => "locks",
        StorageObjectClass.Key => "keys",
        _ => throw new ArgumentOutOfRangeException(nameof(objectClass), objectClass, "unknown object class"),
    };

    private static bool IsSharded(StorageObjectClass objectClass) => objectClass is StorageObjectClass.Packfile or StorageObjectClass.Index;

    public async Task CreateAsync(ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default)
    {
        try
        {
            await CreateOnDiskAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (DiskStateFailure(e) is { } failure)
        {
            throw failure;
        }
    }

    private async Task CreateOnDiskAsync(ReadOnlyMemory<byte> config, CancellationToken cancellationToken)
    {
        CheckWritable();
        var configPath = Path.Combine(_root, ConfigName);
        if (File.Exists(configPath))
        {
            throw AlreadyExists();
        }

        // An existing root keeps the mode its owner gave it; what coffer creates is private.
        Directory.CreateDirectory(_root, _directoryMode);
        foreach (var objectClass in Enum.GetValues<StorageObjectClass>())
        {
            Directory.CreateDirectory(Path.Combine(_root, ClassDirectory(objectClass)), _directoryMode);
        }

        var temp = await DurableFile.WriteTempAsync(_root, (s, ct) => s.WriteAsync(config, ct).AsTask(), _fileMode, flushToDisk: true, cancellationToken).ConfigureAwait(false);
        try
        {
            // link(2) fails if CONFIG exists, so of two concurrent creates exactly one wins, and CONFIG
            // only ever appears complete (rename would silently replace the other's config).
            if (!Native.TryLink(temp, configPath))
            {
                throw AlreadyExists();
            }
        }
        finally
        {
            File.Delete(temp);
        }

        DurableFile.FsyncDirectory(_root);
    }

    public async Task<byte[]> OpenAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await File.ReadAllBytesAsync(Path.Combine(_root, ConfigName), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new NotFoundException($"no store at {_root}: its {ConfigName} is missing (create the store first)", e);
        }
    }

    public async Task PutAsync(StorageObjectClass objectClass, string name, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var path = ObjectPath(objectClass, name);
        CheckWritable();
        var directory = Path.GetDirectoryName(path)!;
        try
        {
            if (!Directory.Exists(directory))
            {
                // A new shard must survive a crash along with the object renamed into it.
                Directory.CreateDirectory(directory, _directoryMode);
                DurableFile.FsyncDirectory(Path.GetDirectoryName(directory)!);
            }

            var temp = await DurableFile.WriteTempAsync(directory, (s, ct) => content.CopyToAsync(s, CopyBufferSize, ct), _fileMode, flushToDisk: true, cancellationToken).ConfigureAwait(false);
            DurableFile.Commit(temp, path);
        }
        catch (IOException e) when (DiskStateFailure(e) is { } failure)
        {
            throw failure;
        }
    }

    public Task<Stream> GetAsync(StorageObjectClass objectClass, string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        var path = ObjectPath(objectClass, name);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } l)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(l, nameof(length));
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new NotFoundException($"{ClassDirectory(objectClass)} object '{name}' is not in {Description}", e);
        }

        if (offset > 0)
        {
            stream.Seek(offset, SeekOrigin.Begin);
        }

        return Task.FromResult<Stream>(length is { } count ? new BoundedStream(stream, count) : stream);
    }

    public Task DeleteAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken = default)
    {
        var path = ObjectPath(objectClass, name);
        CheckWritable();
        var directory = Path.GetDirectoryName(path)!;
        if (File.Exists(path))
        {
            try
            {
                File.Delete(path);
                DurableFile.FsyncDirectory(directory);
            }
            catch (IOException e) when (DiskStateFailure(e) is { } failure)
            {
                throw failure;
            }
        }

        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<StorageObject> ListAsync(StorageObjectClass objectClass, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var directory = Path.Combine(_root, ClassDirectory(objectClass));
        if (!Directory.Exists(directory))
        {
            yield break;
        }

        var directories = IsSharded(objectClass) ? Directory.EnumerateDirectories(directory) : [directory];
        foreach (var shard in directories)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Listing a shard is quick; yield between shards so a long listing does not hog a thread.
            await Task.Yield();
            foreach (var file in new DirectoryInfo(shard).EnumerateFiles())
            {
                if (StorageObjectName.IsValid(file.Name) && LengthIfPresent(file) is { } length)
                {
                    yield return new StorageObject(file.Name, length);
                }
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    // The length is read after the directory listing: an object deleted in between (a released lock, a
    // pack maintenance removed) is simply no longer there, not an error.
    private static long? LengthIfPresent(FileInfo file)
    {
        try
        {
            return file.Length;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private string ObjectPath(StorageObjectClass objectClass, string name)
    {
        StorageObjectName.Validate(name);
        var directory = Path.Combine(_root, ClassDirectory(objectClass));
        return IsSharded(objectClass) ? Path.Combine(directory, name[..Math.Min(2, name.Length)], name) : Path.Combine(directory, name);
    }

    // A full or read-only filesystem is the disk's state, not a fault of ours: say so, and what to do.
    private ConnectorException? DiskStateFailure(IOException e) =>
        Native.IsDiskFull(e) ? new StorageFullException($"{Description} is full (no space left on its filesystem): free some space, then run the command again", e)
        : Native.IsReadOnlyFileSystem(e) ? new ReadOnlyException($"{Description} is on a read-only filesystem: remount it read-write, or read it as a named store with option {DirectoryStorageFactory.ReadOnlyOption}=true", e)
        : null;

    private StoreAlreadyExistsException AlreadyExists() => new($"a store already exists at {_root}: open it, or choose another location");

    private void CheckWritable()
    {
        if (Mode == StorageMode.ReadOnly)
        {
            throw new ReadOnlyException($"{Description} was opened read-only");
        }
    }
}
