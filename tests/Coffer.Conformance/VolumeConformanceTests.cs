using System.Text.RegularExpressions;
using Coffer.Abstractions;
using Coffer.Conformance.Support;
using NUnit.Framework;

namespace Coffer.Conformance;

/// <summary>How a volume suite runs: which settings the volume under test gets.</summary>
public enum VolumeVariant
{
    /// <summary>A writable volume; every operation goes through it.</summary>
    Normal,

    /// <summary>
    /// The volume under test is opened with <see cref="VolumeSettings.ReadOnly"/>: blocks are written (and
    /// touched, trashed) through a writable volume on the same backend, and every read and check goes through
    /// the read-only one. The host, not the volume, keeps writes away from it; the variant checks that the
    /// setting changes nothing a reader sees.
    /// </summary>
    ReadOnly,

    /// <summary>
    /// A writable volume opened with <see cref="VolumeSettings.Serialize"/>. The host, not the volume, lets one
    /// call at a time through; the variant checks that the setting changes nothing a client sees.
    /// </summary>
    Serialized,
}

/// <summary>
/// The behaviour every <see cref="IVolume"/> is held to, after Arvados keepstore's generic volume tests.
/// A connector's test project inherits it once per variant and supplies a fresh backend per test.
/// Ages are simulated with <see cref="Clock"/>: volumes must take every time they set or compare
/// from <see cref="ConnectorContext.Time"/>.
/// </summary>
public abstract class VolumeConformanceTests
{
    /// <summary>The signature TTL the suite's volumes get: blocks younger than this are never trashed.</summary>
    protected static readonly TimeSpan SignatureTtl = TimeSpan.FromHours(1);

    /// <summary>How long trashed blocks stay recoverable in the suite's volumes.</summary>
    protected static readonly TimeSpan TrashLifetime = TimeSpan.FromDays(1);

    private static readonly Regex IndexLine = new(@"^[0-9a-f]{32}\+[0-9]+ [0-9]+$", RegexOptions.CultureInvariant);

    private readonly List<IVolume> _opened = [];

    protected VolumeConformanceTests(VolumeVariant variant) => Variant = variant;

    /// <summary>The variant this fixture instance runs.</summary>
    protected VolumeVariant Variant { get; }

    /// <summary>The clock every volume of the current test sees.</summary>
    protected ManualClock Clock { get; private set; } = new();

    /// <summary>The context every volume of the current test is created with.</summary>
    protected ConnectorContext Context { get; private set; } = ConnectorContext.Default;

    /// <summary>How far a stored mtime may be from the clock's time when it was set (the backend's precision).</summary>
    protected virtual TimeSpan MtimePrecision => TimeSpan.FromSeconds(1);

    /// <summary>True when <see cref="IVolume.GetStatusAsync"/> reports real numbers rather than -1.</summary>
    protected virtual bool ReportsSpace => true;

    /// <summary>Makes a fresh, empty backend for the current test (a directory, a container...).</summary>
    protected abstract Task CreateBackendAsync();

    /// <summary>Removes the current test's backend.</summary>
    protected abstract Task DeleteBackendAsync();

    /// <summary>
    /// Creates a volume on the current test's backend, the way the host does (through the plugin loader).
    /// Every call must reach the same backend: blocks written through one volume are seen by the others.
    /// </summary>
    protected abstract Task<IVolume> CreateVolumeAsync(VolumeSettings settings, ConnectorContext context);

    /// <summary>
    /// Replaces the stored copy of block <paramref name="hash"/> with <paramref name="content"/>, bypassing
    /// the volume, as disk rot or a bad write would. The block exists when this is called.
    /// </summary>
    protected abstract Task OverwriteStoredBlockAsync(string hash, ReadOnlyMemory<byte> content);

    [SetUp]
    public async Task SetUpVolumeBackendAsync()
    {
        Clock = new ManualClock();
        Context = new ConnectorContext { Time = Clock };
        await CreateBackendAsync();
    }

    [TearDown]
    public async Task TearDownVolumeBackendAsync()
    {
        foreach (var volume in _opened)
        {
            await volume.DisposeAsync();
        }

        _opened.Clear();
        await DeleteBackendAsync();
    }

    /// <summary>Opens a volume on the current backend with the suite's TTLs and the variant's serialization.</summary>
    protected async Task<IVolume> OpenVolumeAsync(bool readOnly, TimeSpan? trashLifetime = null)
    {
        var volume = await CreateVolumeAsync(
            new VolumeSettings
            {
                ReadOnly = readOnly,
                Serialize = Variant == VolumeVariant.Serialized,
                BlobSignatureTtl = SignatureTtl,
                TrashLifetime = trashLifetime ?? TrashLifetime,
            },
            Context);
        _opened.Add(volume);
        return volume;
    }

    /// <summary>The writer (always writable) and the volume under test (read-only in that variant) on one backend.</summary>
    protected async Task<(IVolume Writer, IVolume Subject)> OpenPairAsync(TimeSpan? trashLifetime = null)
    {
        var writer = await OpenVolumeAsync(readOnly: false, trashLifetime);
        var subject = Variant == VolumeVariant.ReadOnly ? await OpenVolumeAsync(readOnly: true, trashLifetime) : writer;
        return (writer, subject);
    }

    /// <summary>A block of pseudo-random content and its hash.</summary>
    protected static (string Hash, byte[] Data) Block(int size, ulong seed)
    {
        var data = PseudoRandomStream.Bytes(size, seed);
        return (BlockHash.Compute(data), data);
    }

    private static async Task<byte[]> ReadAllAsync(IVolume volume, string hash)
    {
        using var buffer = new MemoryStream();
        var count = await volume.ReadAsync(hash, buffer);
        Assert.That(count, Is.EqualTo(buffer.Length), "ReadAsync must return the number of bytes it copied");
        return buffer.ToArray();
    }

    private static async Task<List<BlockInfo>> IndexAsync(IVolume volume, string prefix = "")
    {
        var blocks = new List<BlockInfo>();
        await foreach (var block in volume.IndexAsync(prefix))
        {
            blocks.Add(block);
        }

        return blocks;
    }

    private void AssertMtime(DateTimeOffset actual, DateTimeOffset expected, string what) =>
        Assert.That(actual, Is.EqualTo(expected).Within(MtimePrecision), what);

    [Test]
    public async Task Get_returns_the_content_that_was_put()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(1000, 1);

        await writer.WriteAsync(hash, data);

        Assert.That(await ReadAllAsync(subject, hash), Is.EqualTo(data));
    }

    [Test]
    public async Task Get_of_a_missing_block_is_not_found()
    {
        var (_, subject) = await OpenPairAsync();
        var (hash, _) = Block(10, 2);

        var error = Assert.ThrowsAsync<NotFoundException>(() => subject.ReadAsync(hash, Stream.Null));
        Assert.That(error!.Message, Does.Contain(hash), "the message names the missing block");
    }

    [Test]
    public async Task Compare_of_a_missing_block_is_not_found()
    {
        var (_, subject) = await OpenPairAsync();
        var (hash, data) = Block(10, 3);

        Assert.ThrowsAsync<NotFoundException>(() => subject.CompareAsync(hash, data));
    }

    [Test]
    public async Task Compare_with_the_same_content_is_identical()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(5000, 4);
        await writer.WriteAsync(hash, data);

        Assert.That(await subject.CompareAsync(hash, data), Is.EqualTo(BlockComparison.Identical));
    }

    [Test]
    public async Task Compare_of_different_content_against_a_sound_copy_is_a_collision()
    {
        // The stored copy hashes to its name, so content that differs yet claims that name is a collision.
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(5000, 5);
        var (_, other) = Block(5000, 6);
        await writer.WriteAsync(hash, data);

        Assert.That(await subject.CompareAsync(hash, other), Is.EqualTo(BlockComparison.Collision));
    }

    [Test]
    public async Task Compare_against_a_corrupt_stored_copy_is_corrupt()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(5000, 7);
        await writer.WriteAsync(hash, data);
        var rotten = (byte[])data.Clone();
        rotten[1234] ^= 0x40;
        await OverwriteStoredBlockAsync(hash, rotten);

        Assert.That(await subject.CompareAsync(hash, data), Is.EqualTo(BlockComparison.Corrupt));
    }

    [Test]
    public async Task Compare_against_a_truncated_stored_copy_is_corrupt()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(5000, 8);
        await writer.WriteAsync(hash, data);
        await OverwriteStoredBlockAsync(hash, data.AsMemory(0, 100));

        Assert.That(await subject.CompareAsync(hash, data), Is.EqualTo(BlockComparison.Corrupt));
    }

    [Test]
    public async Task Put_of_the_same_content_twice_leaves_one_sound_copy()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(2000, 9);

        await writer.WriteAsync(hash, data);
        await writer.WriteAsync(hash, data);

        Assert.That(await ReadAllAsync(subject, hash), Is.EqualTo(data));
        Assert.That((await IndexAsync(subject)).Select(b => b.Hash), Is.EqualTo(new[] { hash }));
    }

    [Test]
    public async Task Put_again_refreshes_the_mtime()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(2000, 10);
        await writer.WriteAsync(hash, data);
        Clock.Advance(TimeSpan.FromHours(3));

        await writer.WriteAsync(hash, data);

        AssertMtime(await subject.GetMtimeAsync(hash), Clock.GetUtcNow(), "a second put refreshes the mtime");
    }

    [Test]
    public async Task Put_of_many_blocks_stores_each()
    {
        var (writer, subject) = await OpenPairAsync();
        var blocks = Enumerable.Range(0, 20).Select(i => Block(100 + i * 37, 100 + (ulong)i)).ToList();

        foreach (var (hash, data) in blocks)
        {
            await writer.WriteAsync(hash, data);
        }

        foreach (var (hash, data) in blocks)
        {
            Assert.That(await ReadAllAsync(subject, hash), Is.EqualTo(data), hash);
        }
    }

    [Test]
    public async Task Put_records_the_clock_time_as_mtime()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(300, 11);
        var before = Clock.GetUtcNow();

        await writer.WriteAsync(hash, data);

        AssertMtime(await subject.GetMtimeAsync(hash), before, "the mtime of a new block is the volume clock's now");
    }

    [Test]
    public async Task Touch_advances_the_mtime()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(300, 12);
        await writer.WriteAsync(hash, data);
        var written = await subject.GetMtimeAsync(hash);
        Clock.Advance(TimeSpan.FromMinutes(90));

        await writer.TouchAsync(hash);

        var touched = await subject.GetMtimeAsync(hash);
        Assert.That(touched, Is.GreaterThan(written));
        AssertMtime(touched, Clock.GetUtcNow(), "touch sets the mtime to the clock's now");
        Assert.That(await ReadAllAsync(subject, hash), Is.EqualTo(data), "touch leaves the content alone");
    }

    [Test]
    public async Task Touch_of_a_missing_block_is_not_found()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, _) = Block(10, 13);

        Assert.ThrowsAsync<NotFoundException>(() => writer.TouchAsync(hash));
        Assert.ThrowsAsync<NotFoundException>(() => subject.ReadAsync(hash, Stream.Null), "touch must not create the block");
    }

    [Test]
    public async Task Mtime_of_a_missing_block_is_not_found()
    {
        var (_, subject) = await OpenPairAsync();
        var (hash, _) = Block(10, 14);

        Assert.ThrowsAsync<NotFoundException>(() => subject.GetMtimeAsync(hash));
    }

    [Test]
    public async Task Index_lists_every_block_as_hash_plus_size_and_mtime_in_nanoseconds()
    {
        var (writer, subject) = await OpenPairAsync();
        var blocks = Enumerable.Range(0, 8).Select(i => Block(10 + i, 200 + (ulong)i)).ToList();
        var expectedMtime = new Dictionary<string, DateTimeOffset>();
        foreach (var (hash, data) in blocks)
        {
            expectedMtime[hash] = Clock.GetUtcNow();
            await writer.WriteAsync(hash, data);
            Clock.Advance(TimeSpan.FromMinutes(1));
        }

        var index = await IndexAsync(subject);

        Assert.That(index.Select(b => b.Hash), Is.EquivalentTo(blocks.Select(b => b.Hash)));
        foreach (var info in index)
        {
            var line = info.ToString();
            Assert.That(line, Does.Match(IndexLine));
            Assert.That(line, Does.StartWith($"{info.Hash}+{blocks.Single(b => b.Hash == info.Hash).Data.Length} "));
            AssertMtime(info.Mtime, expectedMtime[info.Hash], $"index mtime of {info.Hash}");
        }
    }

    [Test]
    public async Task Index_of_an_empty_volume_is_empty()
    {
        var (_, subject) = await OpenPairAsync();

        Assert.That(await IndexAsync(subject), Is.Empty);
    }

    [Test]
    public async Task Index_by_prefix_lists_exactly_the_matching_blocks()
    {
        var (writer, subject) = await OpenPairAsync();
        var hashes = new List<string>();
        for (var i = 0; i < 48; i++)
        {
            var (hash, data) = Block(20, 300 + (ulong)i);
            await writer.WriteAsync(hash, data);
            hashes.Add(hash);
        }

        // Prefixes of every length a keepstore client uses, including ones that cross the shard boundary.
        var first = hashes[0];
        var prefixes = new[] { first[..1], first[..2], first[..3], first[..4], first[..7], first, hashes[1][..2] };
        foreach (var prefix in prefixes)
        {
            var listed = (await IndexAsync(subject, prefix)).Select(b => b.Hash);
            Assert.That(listed, Is.EquivalentTo(hashes.Where(h => h.StartsWith(prefix, StringComparison.Ordinal))), $"prefix '{prefix}'");
        }

        var unused = Enumerable.Range(0, 4096).Select(n => n.ToString("x3")).First(p => !hashes.Any(h => h.StartsWith(p, StringComparison.Ordinal)));
        Assert.That(await IndexAsync(subject, unused), Is.Empty, $"prefix '{unused}' matches nothing");
    }

    [Test]
    public async Task Index_leaves_out_trashed_blocks()
    {
        var (writer, subject) = await OpenPairAsync();
        var (kept, keptData) = Block(40, 15);
        var (trashed, trashedData) = Block(41, 16);
        await writer.WriteAsync(kept, keptData);
        await writer.WriteAsync(trashed, trashedData);
        Clock.Advance(SignatureTtl + TimeSpan.FromMinutes(1));

        await writer.TrashAsync(trashed);

        Assert.That((await IndexAsync(subject)).Select(b => b.Hash), Is.EqualTo(new[] { kept }));
        Assert.That(await IndexAsync(subject, trashed[..3]), Has.None.Matches<BlockInfo>(b => b.Hash == trashed));
    }

    [Test]
    public async Task Trash_of_a_block_younger_than_the_signature_ttl_leaves_it()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(50, 17);
        await writer.WriteAsync(hash, data);
        Clock.Advance(SignatureTtl - TimeSpan.FromMinutes(5));

        Assert.DoesNotThrowAsync(() => writer.TrashAsync(hash), "a young block is left alone without error");

        Assert.That(await ReadAllAsync(subject, hash), Is.EqualTo(data));
        Assert.That((await IndexAsync(subject)).Select(b => b.Hash), Does.Contain(hash));
    }

    [Test]
    public async Task Trash_of_an_old_block_makes_it_absent()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(50, 18);
        await writer.WriteAsync(hash, data);
        Clock.Advance(SignatureTtl + TimeSpan.FromMinutes(5));

        await writer.TrashAsync(hash);

        Assert.ThrowsAsync<NotFoundException>(() => subject.ReadAsync(hash, Stream.Null));
        Assert.ThrowsAsync<NotFoundException>(() => subject.GetMtimeAsync(hash));
        Assert.ThrowsAsync<NotFoundException>(() => subject.CompareAsync(hash, data));
    }

    [Test]
    public async Task Trash_of_a_missing_block_is_not_found()
    {
        var (writer, _) = await OpenPairAsync();
        var (hash, _) = Block(10, 19);

        Assert.ThrowsAsync<NotFoundException>(() => writer.TrashAsync(hash));
    }

    [Test]
    public async Task Untrash_brings_a_trashed_block_back()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(60, 20);
        await writer.WriteAsync(hash, data);
        Clock.Advance(SignatureTtl + TimeSpan.FromMinutes(5));
        await writer.TrashAsync(hash);

        await writer.UntrashAsync(hash);

        Assert.That(await ReadAllAsync(subject, hash), Is.EqualTo(data));
        Assert.That((await IndexAsync(subject)).Select(b => b.Hash), Does.Contain(hash));
    }

    [Test]
    public async Task Untrash_of_a_block_that_was_never_trashed_is_not_found()
    {
        var (writer, _) = await OpenPairAsync();
        var (hash, data) = Block(60, 21);
        var (other, _) = Block(61, 22);
        await writer.WriteAsync(hash, data);

        Assert.ThrowsAsync<NotFoundException>(() => writer.UntrashAsync(hash), "a live block has no trashed copy");
        Assert.ThrowsAsync<NotFoundException>(() => writer.UntrashAsync(other), "a missing block has no trashed copy");
    }

    [Test]
    public async Task Empty_trash_keeps_blocks_before_their_deadline_and_deletes_them_after()
    {
        var (writer, subject) = await OpenPairAsync();
        var (early, earlyData) = Block(70, 23);
        var (late, lateData) = Block(71, 24);
        await writer.WriteAsync(early, earlyData);
        await writer.WriteAsync(late, lateData);
        Clock.Advance(SignatureTtl + TimeSpan.FromMinutes(5));
        await writer.TrashAsync(early);
        Clock.Advance(TrashLifetime / 2);
        await writer.TrashAsync(late);

        Clock.Advance((TrashLifetime / 2) + TimeSpan.FromMinutes(5));
        await writer.EmptyTrashAsync();

        Assert.ThrowsAsync<NotFoundException>(() => writer.UntrashAsync(early), "past its deadline: deleted for good");
        await writer.UntrashAsync(late);
        Assert.That(await ReadAllAsync(subject, late), Is.EqualTo(lateData), "before its deadline: still recoverable");
        Assert.ThrowsAsync<NotFoundException>(() => subject.ReadAsync(early, Stream.Null));
    }

    [Test]
    public async Task Trash_with_a_zero_lifetime_deletes_at_once()
    {
        var (writer, subject) = await OpenPairAsync(trashLifetime: TimeSpan.Zero);
        var (hash, data) = Block(80, 25);
        await writer.WriteAsync(hash, data);
        Clock.Advance(SignatureTtl + TimeSpan.FromMinutes(5));

        await writer.TrashAsync(hash);

        Assert.ThrowsAsync<NotFoundException>(() => subject.ReadAsync(hash, Stream.Null));
        Assert.ThrowsAsync<NotFoundException>(() => writer.UntrashAsync(hash));
    }

    [Test]
    public async Task Concurrent_gets_all_return_the_content()
    {
        var (writer, subject) = await OpenPairAsync();
        var blocks = Enumerable.Range(0, 4).Select(i => Block(256 * 1024, 400 + (ulong)i)).ToList();
        foreach (var (hash, data) in blocks)
        {
            await writer.WriteAsync(hash, data);
        }

        var reads = Enumerable.Range(0, 32).Select(i => Task.Run(async () => (i, await ReadAllAsync(subject, blocks[i % 4].Hash))));
        foreach (var (i, content) in await Task.WhenAll(reads))
        {
            Assert.That(content, Is.EqualTo(blocks[i % 4].Data), $"read {i}");
        }
    }

    [Test]
    public async Task Concurrent_puts_of_the_same_block_leave_one_sound_copy()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(512 * 1024, 26);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => writer.WriteAsync(hash, data))));

        Assert.That(await subject.CompareAsync(hash, data), Is.EqualTo(BlockComparison.Identical));
        Assert.That((await IndexAsync(subject)).Select(b => b.ToString()), Has.Exactly(1).StartsWith($"{hash}+{data.Length} "));
    }

    [Test]
    public async Task Concurrent_puts_of_different_blocks_store_them_all()
    {
        var (writer, subject) = await OpenPairAsync();
        var blocks = Enumerable.Range(0, 16).Select(i => Block(64 * 1024 + i, 500 + (ulong)i)).ToList();

        await Task.WhenAll(blocks.Select(b => Task.Run(() => writer.WriteAsync(b.Hash, b.Data))));

        foreach (var (hash, data) in blocks)
        {
            Assert.That(await ReadAllAsync(subject, hash), Is.EqualTo(data), hash);
        }

        Assert.That((await IndexAsync(subject)).Select(b => b.Hash), Is.EquivalentTo(blocks.Select(b => b.Hash)));
    }

    [Test]
    public async Task Operations_overlap_even_on_a_volume_opened_serialized()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(1000, 32);
        await writer.WriteAsync(hash, data);
        var sink = new GateStream();

        // A read held mid-copy by its destination keeps the volume busy.
        var held = subject.ReadAsync(hash, sink);
        await sink.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        var meanwhile = subject.GetMtimeAsync(hash);
        var finishedWhileHeld = await Task.WhenAny(meanwhile, Task.Delay(10_000)) == meanwhile;
        sink.Open();
        await held;
        await meanwhile;

        // Serializing is the host's (docs/abi.md, "Who enforces each volume rule"): a volume that made calls wait
        // for each other as well would only stall the host's other volumes' callers behind its own gate.
        Assert.That(finishedWhileHeld, Is.True, "a volume does not make operations wait for each other, whatever its settings");
    }

    [Test]
    public async Task A_full_64_MiB_block_round_trips()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(BlockHash.MaxBlockSize, 27);

        await writer.WriteAsync(hash, data);

        Assert.That(await subject.CompareAsync(hash, data), Is.EqualTo(BlockComparison.Identical));
        var read = await ReadAllAsync(subject, hash);
        Assert.That(read, Has.Length.EqualTo(BlockHash.MaxBlockSize));
        Assert.That(BlockHash.Compute(read), Is.EqualTo(hash));
    }

    [Test]
    public async Task A_cancelled_put_stores_nothing()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(100_000, 31);
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        Assert.ThrowsAsync(Is.InstanceOf<OperationCanceledException>(), () => writer.WriteAsync(hash, data, cancellation.Token));

        Assert.ThrowsAsync<NotFoundException>(() => subject.ReadAsync(hash, Stream.Null));
        Assert.That(await IndexAsync(subject), Is.Empty);
    }

    [Test]
    public async Task Status_reports_free_and_used_space()
    {
        var (writer, subject) = await OpenPairAsync();
        var (hash, data) = Block(4096, 30);
        await writer.WriteAsync(hash, data);

        var status = await subject.GetStatusAsync();

        if (ReportsSpace)
        {
            Assert.That(status.BytesFree, Is.GreaterThan(0));
            Assert.That(status.BytesUsed, Is.GreaterThan(0));
        }
        else
        {
            Assert.That(status, Is.EqualTo(new VolumeStatus(-1, -1)), "a backend that cannot tell reports -1 for both");
        }
    }

    [Test]
    public async Task Device_id_is_the_same_for_every_volume_on_the_same_backend()
    {
        var first = await OpenVolumeAsync(readOnly: false);
        var second = await OpenVolumeAsync(readOnly: true);

        Assert.That(first.DeviceId, Is.Not.Null.And.Not.Empty);
        Assert.That(second.DeviceId, Is.EqualTo(first.DeviceId));
    }

    [Test]
    public async Task Description_and_replication_are_set()
    {
        var (_, subject) = await OpenPairAsync();

        Assert.That(subject.Description, Is.Not.Null.And.Not.Empty);
        Assert.That(subject.Description, Does.Not.Contain("\n"));
        Assert.That(subject.Replication, Is.GreaterThanOrEqualTo(1));
        Assert.That(subject.IsReadOnly, Is.False, "a backend that can be written says so; the read-only setting is the host's to keep");
    }
}
