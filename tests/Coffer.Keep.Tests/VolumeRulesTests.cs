using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Coffer.Abstractions;
using Microsoft.Extensions.Logging.Abstractions;

namespace Coffer.Keep.Tests;

/// <summary>
/// The volume rules the host is the one owner of (docs/abi.md, "Who enforces each volume rule"): <c>-readonly</c>
/// and <c>-serialize</c>, held to over a volume that enforces neither, as a third-party connector need not.
/// </summary>
public class VolumeRulesTests
{
    private static readonly byte[] Data = "a block"u8.ToArray();
    private static readonly string Hash = BlockHash.Compute(Data);

    private static KeepMount Mount(int index, RecordingVolume volume, bool readOnly = false, bool serialize = false) =>
        new(index, new KeepVolumeSpec($"-volume /disk{index}", $"/disk{index}", new Dictionary<string, string>(), readOnly, serialize), volume);

    [Test]
    public async Task A_read_only_volume_is_never_written_touched_or_trashed()
    {
        var readOnly = new RecordingVolume();
        readOnly.Blocks[Hash] = Data;
        var writable = new RecordingVolume();
        await using var volumes = new KeepVolumeSet([Mount(0, readOnly, readOnly: true), Mount(1, writable)]);
        using var buffers = new BlockBufferPool(2);
        var store = new BlockStore(volumes, buffers, NullLogger.Instance);
        var options = new KeepstoreOptions { NeverDelete = false, BlobSignatureTtl = TimeSpan.Zero };
        using var workers = new KeepWorkers(store, new KeepstoreSecrets(null, null), options, TimeProvider.System, NullLogger.Instance);

        // A block the read-only volume holds is written to the writable one, not touched where it is.
        Assert.That(await store.PutAsync(Hash, Data, null, CancellationToken.None), Is.SameAs(volumes.All[1]), "written to the writable mount");
        Assert.That(writable.Blocks.ContainsKey(Hash), Is.True);
        var full = Assert.ThrowsAsync<KeepFailure>(() => store.PutAsync(Hash, Data, volumes.All[0], CancellationToken.None));
        Assert.That(full!.Status, Is.EqualTo(507), "a put aimed at the read-only mount has nowhere to go");
        await workers.EmptyTrashAsync(CancellationToken.None);

        Assert.That(volumes.All[0].IsReadOnly, Is.True);
        Assert.That(volumes.Writable, Is.EqualTo(new[] { volumes.All[1] }), "only writable mounts are ever changed");
        Assert.That(readOnly.Calls.Where(RecordingVolume.IsChange), Is.Empty);
        Assert.That(writable.Calls, Does.Contain("EmptyTrash"));
    }

    [Test]
    public async Task A_volume_whose_backend_cannot_be_written_is_read_only_without_the_flag()
    {
        await using var mount = Mount(0, new RecordingVolume { IsReadOnly = true });

        Assert.That(mount.IsReadOnly, Is.True);
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task A_serialized_volume_gets_one_call_at_a_time_and_others_overlap(bool serialize)
    {
        var volume = new RecordingVolume();
        volume.Blocks[Hash] = Data;
        await using var mount = Mount(0, volume, serialize: serialize);
        volume.HoldReads = new TaskCompletionSource();

        var held = mount.RunAsync((v, ct) => v.ReadAsync(Hash, Stream.Null, ct), CancellationToken.None);
        await volume.ReadEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var meanwhile = mount.RunAsync((v, ct) => v.GetMtimeAsync(Hash, ct), CancellationToken.None);
        var finishedWhileHeld = await Task.WhenAny(meanwhile, Task.Delay(serialize ? 300 : 10_000)) == meanwhile;
        volume.HoldReads.SetResult();
        await held;
        await meanwhile;

        Assert.That(finishedWhileHeld, Is.EqualTo(!serialize));
    }

    [Test]
    public async Task A_serialized_index_holds_the_volume_per_step_never_while_its_reader_handles_a_line()
    {
        var volume = new RecordingVolume();
        volume.Blocks[Hash] = Data;
        await using var mount = Mount(0, volume, serialize: true);

        await using var index = mount.IndexAsync("", CancellationToken.None).GetAsyncEnumerator();
        Assert.That(await index.MoveNextAsync(), Is.True);
        var mtime = mount.RunAsync((v, ct) => v.GetMtimeAsync(Hash, ct), CancellationToken.None);

        Assert.That(await Task.WhenAny(mtime, Task.Delay(10_000)), Is.SameAs(mtime), "the index's reader holding a line does not hold the volume");
        Assert.That(await index.MoveNextAsync(), Is.False);
    }

    /// <summary>An in-memory volume that enforces no setting and records every call.</summary>
    private sealed class RecordingVolume : IVolume
    {
        public ConcurrentDictionary<string, byte[]> Blocks { get; } = new();

        public ConcurrentQueue<string> Calls { get; } = new();

        public TaskCompletionSource? HoldReads { get; set; }

        public TaskCompletionSource ReadEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string DeviceId { get; } = Guid.NewGuid().ToString();

        public string Description => "recording volume";

        public bool IsReadOnly { get; init; }

        public int Replication => 1;

        public static bool IsChange(string call) => call is "Write" or "Touch" or "Trash" or "Untrash" or "EmptyTrash";

        public async Task<long> ReadAsync(string hash, Stream destination, CancellationToken cancellationToken = default)
        {
            Calls.Enqueue("Read");
            ReadEntered.TrySetResult();
            if (HoldReads is { } hold)
            {
                await hold.Task.WaitAsync(cancellationToken);
            }

            var data = Find(hash);
            await destination.WriteAsync(data, cancellationToken);
            return data.Length;
        }

        public Task WriteAsync(string hash, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            Calls.Enqueue("Write");
            Blocks[hash] = data.ToArray();
            return Task.CompletedTask;
        }

        public Task<BlockComparison> CompareAsync(string hash, ReadOnlyMemory<byte> expected, CancellationToken cancellationToken = default)
        {
            Calls.Enqueue("Compare");
            return Task.FromResult(Find(hash).AsSpan().SequenceEqual(expected.Span) ? BlockComparison.Identical : BlockComparison.Corrupt);
        }

        public Task TouchAsync(string hash, CancellationToken cancellationToken = default)
        {
            Calls.Enqueue("Touch");
            Find(hash);
            return Task.CompletedTask;
        }

        public Task<DateTimeOffset> GetMtimeAsync(string hash, CancellationToken cancellationToken = default)
        {
            Calls.Enqueue("Mtime");
            Find(hash);
            return Task.FromResult(DateTimeOffset.UnixEpoch);
        }

        public async IAsyncEnumerable<BlockInfo> IndexAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Calls.Enqueue("Index");
            foreach (var (hash, data) in Blocks.Where(b => b.Key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                await Task.Yield();
                yield return new BlockInfo(hash, data.Length, DateTimeOffset.UnixEpoch);
            }
        }

        public Task TrashAsync(string hash, CancellationToken cancellationToken = default)
        {
            Calls.Enqueue("Trash");
            return Task.CompletedTask;
        }

        public Task UntrashAsync(string hash, CancellationToken cancellationToken = default)
        {
            Calls.Enqueue("Untrash");
            return Task.CompletedTask;
        }

        public Task EmptyTrashAsync(CancellationToken cancellationToken = default)
        {
            Calls.Enqueue("EmptyTrash");
            return Task.CompletedTask;
        }

        public Task<VolumeStatus> GetStatusAsync(CancellationToken cancellationToken = default) => Task.FromResult(new VolumeStatus(-1, -1));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private byte[] Find(string hash) =>
            Blocks.TryGetValue(hash, out var data) ? data : throw new NotFoundException($"block {hash} is not here");
    }
}
