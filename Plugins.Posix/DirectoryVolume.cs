using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;
using Coffer.Plumbing;
using Microsoft.Win32.SafeHandles;

namespace Coffer.Plugins.Posix;

/// <summary>
/// A keepstore "Directory" volume: block <c>H</c> lives at <c>ROOT/H[..3]/H</c>, a trashed block at
/// <c>ROOT/H[..3]/H.trash.DEADLINE</c> (Unix seconds). Unlike keepstore, every write is fsynced
/// (file, then directory) before it is acknowledged.
/// </summary>
/// <remarks>
/// <c>-serialize</c> and <c>-readonly</c> are the host's to enforce (docs/abi.md, "Who enforces each volume
/// rule"): this volume lets every call through at once and refuses a change only when the filesystem does.
/// </remarks>
internal sealed class DirectoryVolume : IVolume
{
    // How long a write that ran out of room (ENOSPC) keeps the volume full before writing is tried again: long enough
    // that a busy server does not fail one write after another, short enough that space freed is used within seconds.
    // Free space against min_free is looked at on every write (one statfs, as when the volume is not full).
    private static readonly TimeSpan FullVerdictLifetime = TimeSpan.FromSeconds(5);

    private const string TrashInfix = ".trash.";

    // One read per MiB: few system calls, and a chunk still fits in the CPU cache for the reader's hashing.
    private const int ReadChunk = 1024 * 1024;

    private readonly string _root;
    private readonly VolumeSettings _settings;
    private readonly TimeProvider _time;
    private readonly long _minimumFree;
    private long _fullUntilTicks;

    private DirectoryVolume(string root, string deviceId, long minimumFree, VolumeSettings settings, ConnectorContext context)
    {
        _root = root;
        _minimumFree = minimumFree;
        _settings = settings;
        _time = context.Time;
        DeviceId = deviceId;
    }

    public string DeviceId { get; }

    public string Description => $"directory volume {_root}{(_settings.ReadOnly ? " (read-only)" : "")}";

    // A directory can be written as far as this volume knows; a read-only filesystem is found out per write.
    public bool IsReadOnly => false;

    public int Replication => 1;

    /// <summary>Opens the volume at an existing directory.</summary>
    /// <param name="path">The root directory.</param>
    /// <param name="minimumFree">Below this many free bytes the volume counts as full.</param>
    /// <param name="settings">The host's volume settings.</param>
    /// <param name="context">The host's services.</param>
    /// <exception cref="ConnectorConfigurationException">The directory does not exist.</exception>
    public static DirectoryVolume Open(string path, long minimumFree, VolumeSettings settings, ConnectorContext context)
    {
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(full))
        {
            // Never created on the fly: an unmounted disk must not silently become an empty volume.
            throw new ConnectorConfigurationException($"volume directory '{path}' does not exist: create it (or mount its disk) first");
        }

        var real = Native.RealPath(full);
        var stat = Native.Lstat(real) ?? throw new ConnectorConfigurationException($"volume directory '{path}' vanished while opening it");
        // The filesystem's device number plus the canonical path: volumes configured on one directory,
        // by whatever path or link, agree.
        var deviceId = string.Create(CultureInfo.InvariantCulture, $"fs:{stat.DeviceMajor}:{stat.DeviceMinor}:{real}");
        return new DirectoryVolume(real, deviceId, minimumFree, settings, context);
    }

    public async Task<long> ReadAsync(string hash, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var path = BlockPath(hash);
        using var file = OpenBlockHandle(path, hash);
        var buffer = ArrayPool<byte>.Shared.Rent(ReadChunk);
        try
        {
            long offset = 0;
            int read;

            // Synchronous reads: .NET emulates asynchronous file reads on Linux with a thread-pool hop per
            // read, which costs more than a read from the page cache.
            while ((read = RandomAccess.Read(file, buffer.AsSpan(0, ReadChunk), offset)) > 0)
            {
                offset += read;
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            return offset;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async Task WriteAsync(string hash, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var path = BlockPath(hash);
        if (data.Length > BlockHash.MaxBlockSize)
        {
            throw new ArgumentException($"block {hash} is {data.Length} bytes, more than the {BlockHash.MaxBlockSize}-byte maximum", nameof(data));
        }

        if (IsFull())
        {
            throw new StorageFullException($"{Description} is full (less than {_minimumFree} bytes free)");
        }

        try
        {
            var directory = Path.GetDirectoryName(path)!;
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory);
                DurableFile.FsyncDirectory(_root);
            }

            var temp = await DurableFile.WriteTempAsync(directory, (s, ct) => WriteBlockAsync(s, data, ct), DurableFile.Readable, flushToDisk: true, cancellationToken).ConfigureAwait(false);
            DurableFile.Commit(temp, path);
        }
        catch (IOException e) when (Native.IsDiskFull(e))
        {
            Interlocked.Exchange(ref _fullUntilTicks, (_time.GetUtcNow() + FullVerdictLifetime).UtcTicks);
            throw new StorageFullException($"{Description} is full: {e.Message}", e);
        }
        catch (IOException e) when (Native.IsReadOnlyFileSystem(e))
        {
            throw new ReadOnlyException($"{Description} is on a read-only filesystem: {e.Message}", e);
        }
    }

    // The mtime is set on the open file after its one write, so the fsync that follows covers it too.
    private async Task WriteBlockAsync(FileStream file, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await file.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        Native.SetModifiedTime(file.SafeFileHandle, file.Name, _time.GetUtcNow());
    }

    public Task<BlockComparison> CompareAsync(string hash, ReadOnlyMemory<byte> expected, CancellationToken cancellationToken = default) =>
        Synchronously(() => Compare(hash, expected, cancellationToken), cancellationToken);

    private BlockComparison Compare(string hash, ReadOnlyMemory<byte> expected, CancellationToken cancellationToken)
    {
        var path = BlockPath(hash);
        using var file = OpenBlockHandle(path, hash);
#pragma warning disable CA5351 // MD5 is the block name, not a security primitive.
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            long offset = 0;
            var equal = true;
            int read;
            while ((read = RandomAccess.Read(file, buffer, offset)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                md5.AppendData(buffer, 0, read);
                equal = equal && offset + read <= expected.Length &&
                    buffer.AsSpan(0, read).SequenceEqual(expected.Span.Slice((int)offset, read));
                offset += read;
            }

            if (equal && offset == expected.Length)
            {
                return BlockComparison.Identical;
            }

            // The stored copy differs: if it still hashes to its name the client's data collides with it.
            return Convert.ToHexStringLower(md5.GetHashAndReset()) == hash ? BlockComparison.Collision : BlockComparison.Corrupt;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Task TouchAsync(string hash, CancellationToken cancellationToken = default) =>
        Synchronously(() =>
        {
            var path = BlockPath(hash);
            try
            {
                Native.SetModifiedTime(path, _time.GetUtcNow());
            }
            catch (IOException e) when (e.HResult is Native.ENOENT or Native.ENOTDIR)
            {
                throw NotFound(hash, e);
            }

            return true;
        }, cancellationToken);

    public Task<DateTimeOffset> GetMtimeAsync(string hash, CancellationToken cancellationToken = default) =>
        Synchronously(() => (Native.Lstat(BlockPath(hash)) ?? throw NotFound(hash, null)).ModifiedTime, cancellationToken);

    public async IAsyncEnumerable<BlockInfo> IndexAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length > 32 || !prefix.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
        {
            throw new ArgumentException($"index prefix '{prefix}' is not lower-case hex of at most 32 digits", nameof(prefix));
        }

        var shards = Directory.EnumerateDirectories(_root)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => name.Length == 3 && (prefix.Length >= 3 ? name == prefix[..3] : name.StartsWith(prefix, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal)
            .ToList();

        foreach (var shard in shards)
        {
            // A shard is read whole before its blocks are handed out: a host that lets one I/O at a time reach
            // this volume (-serialize) holds its turn per step of the enumeration, never while it sends lines.
            cancellationToken.ThrowIfCancellationRequested();
            var blocks = new List<BlockInfo>();
            foreach (var path in Directory.EnumerateFiles(Path.Combine(_root, shard)))
            {
                var name = Path.GetFileName(path);
                if (BlockHash.IsValid(name) && name.StartsWith(prefix, StringComparison.Ordinal) && Native.Lstat(path) is { IsRegularFile: true } stat)
                {
                    blocks.Add(new BlockInfo(name, stat.Size, stat.ModifiedTime));
                }
            }

            foreach (var block in blocks)
            {
                yield return block;
            }
        }
    }

    public Task TrashAsync(string hash, CancellationToken cancellationToken = default) =>
        Synchronously(() => Trash(hash), cancellationToken);

    private bool Trash(string hash)
    {
        var path = BlockPath(hash);
        var stat = Native.Lstat(path) ?? throw NotFound(hash, null);
        var now = _time.GetUtcNow();
        if (now - stat.ModifiedTime < _settings.BlobSignatureTtl)
        {
            // A client may still hold a valid signature for it: keep it, as keepstore does.
            return false;
        }

        try
        {
            if (_settings.TrashLifetime <= TimeSpan.Zero)
            {
                File.Delete(path);
            }
            else
            {
                var deadline = (now + _settings.TrashLifetime).ToUnixTimeSeconds();
                File.Move(path, string.Create(CultureInfo.InvariantCulture, $"{path}{TrashInfix}{deadline}"), overwrite: true);
            }
        }
        catch (FileNotFoundException e)
        {
            throw NotFound(hash, e);
        }

        DurableFile.FsyncDirectory(Path.GetDirectoryName(path)!);
        return true;
    }

    public Task UntrashAsync(string hash, CancellationToken cancellationToken = default) =>
        Synchronously(() => Untrash(hash), cancellationToken);

    private bool Untrash(string hash)
    {
        var path = BlockPath(hash);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var newest = TrashedCopies(Path.GetDirectoryName(path)!)
            .Where(t => t.Hash == hash && t.Deadline > now)
            .OrderByDescending(t => t.Deadline)
            .FirstOrDefault();
        if (newest.Path is null)
        {
            throw new NotFoundException($"block {hash} has no trashed copy on {Description}");
        }

        File.Move(newest.Path, path, overwrite: true);
        DurableFile.FsyncDirectory(Path.GetDirectoryName(path)!);
        return true;
    }

    public Task EmptyTrashAsync(CancellationToken cancellationToken = default) =>
        Synchronously(() => EmptyTrash(cancellationToken), cancellationToken);

    private bool EmptyTrash(CancellationToken cancellationToken)
    {
        foreach (var shard in Directory.EnumerateDirectories(_root).Where(d => Path.GetFileName(d).Length == 3).ToList())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = _time.GetUtcNow().ToUnixTimeSeconds();
            var deleted = false;
            foreach (var trashed in TrashedCopies(shard).Where(t => t.Deadline <= now))
            {
                File.Delete(trashed.Path);
                deleted = true;
            }

            if (deleted)
            {
                DurableFile.FsyncDirectory(shard);
            }
        }

        return true;
    }

    public Task<VolumeStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        // Space of the whole filesystem, as keepstore reports it: summing block sizes would walk every shard.
        var drive = new DriveInfo(_root);
        return Task.FromResult(new VolumeStatus(drive.AvailableFreeSpace, drive.TotalSize - drive.TotalFreeSpace));
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// Runs filesystem calls on the caller's thread (see <see cref="ReadAsync"/>: they cost less than a hop to the
    /// thread pool) and reports their failure through the task, as an asynchronous method would.
    /// </summary>
    private static Task<T> Synchronously<T>(Func<T> work, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        try
        {
            return Task.FromResult(work());
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }
        catch (Exception e)
        {
            return Task.FromException<T>(e);
        }
    }

    private string BlockPath(string hash)
    {
        BlockHash.Validate(hash);
        return Path.Combine(_root, hash[..3], hash);
    }

    private SafeFileHandle OpenBlockHandle(string path, string hash)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NotFound(hash, e);
        }
    }

    private NotFoundException NotFound(string hash, Exception? cause) => new($"block {hash} is not on {Description}", cause);

    private bool IsFull() =>
        _time.GetUtcNow().UtcTicks < Interlocked.Read(ref _fullUntilTicks) || new DriveInfo(_root).AvailableFreeSpace < _minimumFree;

    private static IEnumerable<(string Path, string Hash, long Deadline)> TrashedCopies(string shard)
    {
        if (!Directory.Exists(shard))
        {
            yield break;
        }

        foreach (var path in Directory.EnumerateFiles(shard, "*" + TrashInfix + "*"))
        {
            var name = Path.GetFileName(path);
            var infix = name.IndexOf(TrashInfix, StringComparison.Ordinal);
            if (infix == 32 && BlockHash.IsValid(name.AsSpan(0, 32)) &&
                long.TryParse(name.AsSpan(32 + TrashInfix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var deadline))
            {
                yield return (path, name[..32], deadline);
            }
        }
    }
}
