using Coffer.Abstractions;
using Coffer.Conformance.Support;
using Coffer.TestSupport;

namespace Coffer.Plugins.Posix.Tests;

/// <summary>What the directory volume does on disk, beyond the conformance suite: keepstore's layout.</summary>
public class PosixVolumeTests
{
    private TemporaryDirectory _root = null!;
    private ManualClock _clock = null!;

    [SetUp]
    public void SetUp()
    {
        _root = new TemporaryDirectory("posix-volume");
        _clock = new ManualClock();
    }

    [TearDown]
    public void TearDown() => _root.Dispose();

    private async Task<IVolume> OpenAsync(string? location = null, bool readOnly = false, Dictionary<string, string>? options = null) =>
        await PosixPluginHost.Catalog.CreateVolumeAsync(
            new ConnectorConfiguration(location ?? _root.Path, options, new ConnectorContext { Time = _clock }),
            new VolumeSettings { ReadOnly = readOnly, BlobSignatureTtl = TimeSpan.FromHours(1), TrashLifetime = TimeSpan.FromDays(2) });

    private static (string Hash, byte[] Data) Block(ulong seed)
    {
        var data = PseudoRandomStream.Bytes(1000, seed);
        return (BlockHash.Compute(data), data);
    }

    [Test]
    public async Task A_block_is_stored_at_root_slash_its_first_three_hex_digits_slash_its_hash_and_nothing_else()
    {
        await using var volume = await OpenAsync();
        var (hash, data) = Block(1);

        await volume.WriteAsync(hash, data);

        var path = _root.Combine(hash[..3], hash);
        Assert.That(await File.ReadAllBytesAsync(path), Is.EqualTo(data));
        Assert.That(Directory.GetFileSystemEntries(_root.Path), Is.EqualTo(new[] { _root.Combine(hash[..3]) }));
        Assert.That(Directory.GetFileSystemEntries(_root.Combine(hash[..3])), Is.EqualTo(new[] { path }), "no temp file is left behind");
        Assert.That(File.GetLastWriteTimeUtc(path), Is.EqualTo(_clock.GetUtcNow().UtcDateTime), "the mtime is the volume clock's, set explicitly");
    }

    [Test]
    public async Task Trash_renames_the_block_to_hash_dot_trash_dot_unix_deadline_and_untrash_renames_it_back()
    {
        await using var volume = await OpenAsync();
        var (hash, data) = Block(2);
        await volume.WriteAsync(hash, data);
        _clock.Advance(TimeSpan.FromHours(2));

        await volume.TrashAsync(hash);

        var deadline = (_clock.GetUtcNow() + TimeSpan.FromDays(2)).ToUnixTimeSeconds();
        var shard = _root.Combine(hash[..3]);
        Assert.That(Directory.GetFiles(shard).Select(Path.GetFileName), Is.EqualTo(new[] { $"{hash}.trash.{deadline}" }));

        await volume.UntrashAsync(hash);

        Assert.That(Directory.GetFiles(shard).Select(Path.GetFileName), Is.EqualTo(new[] { hash }));
    }

    [Test]
    public async Task Blocks_a_keepstore_left_on_disk_are_read_and_indexed_and_other_files_are_ignored()
    {
        var (hash, data) = Block(3);
        Directory.CreateDirectory(_root.Combine(hash[..3]));
        await File.WriteAllBytesAsync(_root.Combine(hash[..3], hash), data);
        await File.WriteAllTextAsync(_root.Combine(hash[..3], ".tmp-123"), "half a block");
        await File.WriteAllTextAsync(_root.Combine(hash[..3], "notahash"), "junk");
        await File.WriteAllTextAsync(_root.Combine("README"), "junk");
        Directory.CreateDirectory(_root.Combine("lost+found"));
        await using var volume = await OpenAsync();

        using var read = new MemoryStream();
        await volume.ReadAsync(hash, read);
        var index = new List<BlockInfo>();
        await foreach (var block in volume.IndexAsync(""))
        {
            index.Add(block);
        }

        Assert.That(read.ToArray(), Is.EqualTo(data));
        Assert.That(index.Select(b => b.Hash), Is.EqualTo(new[] { hash }));
    }

    [Test]
    public async Task A_corrupt_copy_written_directly_to_disk_is_detected_by_compare()
    {
        await using var volume = await OpenAsync();
        var (hash, data) = Block(4);
        await volume.WriteAsync(hash, data);
        var rotten = (byte[])data.Clone();
        rotten[^1] ^= 1;
        await File.WriteAllBytesAsync(_root.Combine(hash[..3], hash), rotten);

        Assert.That(await volume.CompareAsync(hash, data), Is.EqualTo(BlockComparison.Corrupt));
        Assert.That(await volume.CompareAsync(hash, rotten), Is.EqualTo(BlockComparison.Identical), "compare reads what is on disk");
    }

    [Test]
    public void A_missing_root_directory_is_a_one_line_configuration_error()
    {
        var missing = _root.Combine("not-mounted");

        var error = Assert.ThrowsAsync<ConnectorConfigurationException>(() => OpenAsync(missing));

        Assert.That(error!.Message, Does.Contain(missing).And.Not.Contain("\n"));
        Assert.That(Directory.Exists(missing), Is.False, "the volume never creates its root");
    }

    [Test]
    public async Task The_device_id_is_the_filesystem_identity_plus_the_real_path()
    {
        var alias = _root.Path + "-alias";
        File.CreateSymbolicLink(alias, _root.Path);
        var other = _root.Combine("other");
        Directory.CreateDirectory(other);
        try
        {
            await using var direct = await OpenAsync();
            await using var throughLink = await OpenAsync(alias);
            await using var withSlash = await OpenAsync($"fs://{_root.Path}/");
            await using var elsewhere = await OpenAsync(other);

            Assert.That(direct.DeviceId, Does.StartWith("fs:").And.EndWith(":" + _root.Path));
            Assert.That(throughLink.DeviceId, Is.EqualTo(direct.DeviceId), "a link to the same directory is the same device");
            Assert.That(withSlash.DeviceId, Is.EqualTo(direct.DeviceId));
            Assert.That(elsewhere.DeviceId, Is.Not.EqualTo(direct.DeviceId));
        }
        finally
        {
            File.Delete(alias);
        }
    }

    [Test]
    public async Task A_volume_with_less_free_space_than_min_free_refuses_writes_as_full_and_stores_nothing()
    {
        // More than any disk has: the volume must consider itself full.
        await using var volume = await OpenAsync(options: new() { ["min_free"] = (1L << 60).ToString() });
        await using var roomy = await OpenAsync();
        var (hash, data) = Block(5);

        var error = Assert.ThrowsAsync<StorageFullException>(() => volume.WriteAsync(hash, data));
        Assert.ThrowsAsync<StorageFullException>(() => volume.WriteAsync(hash, data), "the verdict stands");

        Assert.That(error!.Message, Does.Contain("full").And.Not.Contain("\n"));
        Assert.ThrowsAsync<NotFoundException>(() => roomy.ReadAsync(hash, Stream.Null), "nothing was stored");
        Assert.DoesNotThrowAsync(() => roomy.WriteAsync(hash, data), "with the default reserve of one block the same disk takes it");
    }

    [Test]
    public void A_min_free_below_one_block_is_a_configuration_error()
    {
        var error = Assert.ThrowsAsync<ConnectorConfigurationException>(() => OpenAsync(options: new() { ["min_free"] = "1000" }));

        Assert.That(error!.Message, Does.Contain("min_free"));
    }

    [Test]
    public async Task Status_reports_the_filesystem_space()
    {
        await using var volume = await OpenAsync();

        var status = await volume.GetStatusAsync();

        var drive = new DriveInfo(_root.Path);
        Assert.That(status.BytesFree, Is.EqualTo(drive.AvailableFreeSpace).Within(256L * 1024 * 1024), "other processes write meanwhile");
        Assert.That(status.BytesUsed + drive.TotalFreeSpace, Is.EqualTo(drive.TotalSize).Within(256L * 1024 * 1024));
    }
}
