using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Coffer.TestSupport;

namespace Coffer.Keep.Tests;

/// <summary><c>coffer keepstore</c> over directory volumes, alone and mixed with an Azurite container.</summary>
[Parallelizable(ParallelScope.None)]
public class KeepstorePosixTests
{
    private const string DataManagerToken = KeepTestSecrets.DataManagerToken;

    private TemporaryDirectory _root = null!;
    private CofferProcess _coffer = null!;
    private string _tokenFile = null!;

    [OneTimeSetUp]
    public void SetUpCoffer()
    {
        _root = new TemporaryDirectory("keepfs");
        _coffer = KeepstoreProcess.CofferWithPlugins(_root);
        _tokenFile = KeepTestSecrets.WritePrivateFile(_root.Combine("datamanager.token"), DataManagerToken + "\n");
    }

    [OneTimeTearDown]
    public void TearDownCoffer() => _root.Dispose();

    private string NewDisk(string name)
    {
        var path = _root.Combine($"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    private static string BlockFile(string disk, string hash) => Path.Combine(disk, hash[..3], hash);

    private static List<string> BlocksOn(string disk) =>
        Directory.EnumerateFiles(disk, "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName)
            .Where(n => n!.Length == 32)
            .Select(n => n!)
            .ToList();

    [Test]
    public async Task Two_directory_volumes_take_blocks_in_turn_and_serve_them()
    {
        var disk0 = NewDisk("disk0");
        var disk1 = NewDisk("disk1");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk0, "-volume", disk1, "-data-manager-token-file", _tokenFile);

        var blocks = Enumerable.Range(0, 6).Select(i => KeepstoreProcess.RandomBlock(10_000 + i)).ToList();
        foreach (var block in blocks)
        {
            using var response = await keep.PutAsync(KeepstoreProcess.Md5(block), block);
            Assert.That((int)response.StatusCode, Is.EqualTo(200), keep.Log);
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo($"{KeepstoreProcess.Md5(block)}+{block.Length}\n"), "no key: unsigned locator");
            Assert.That(response.Headers.GetValues("X-Keep-Replicas-Stored").Single(), Is.EqualTo("1"));
        }

        Assert.That(BlocksOn(disk0), Has.Count.EqualTo(3));
        Assert.That(BlocksOn(disk1), Has.Count.EqualTo(3));
        Assert.That(BlocksOn(disk0).Concat(BlocksOn(disk1)), Is.EquivalentTo(blocks.Select(KeepstoreProcess.Md5)));

        foreach (var block in blocks)
        {
            var (status, content) = await keep.GetBlockAsync($"{KeepstoreProcess.Md5(block)}+{block.Length}+Kzzzzz");
            Assert.That(status, Is.EqualTo(200));
            Assert.That(content, SameBytes.As(block));
        }

        // A block already stored is touched, not stored again elsewhere.
        var first = blocks[0];
        var path = new[] { disk0, disk1 }.Select(d => BlockFile(d, KeepstoreProcess.Md5(first))).Single(File.Exists);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddDays(-3));
        await keep.PutBlockAsync(first);
        Assert.That(File.GetLastWriteTimeUtc(path), Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromMinutes(1)));
        Assert.That(BlocksOn(disk0).Count + BlocksOn(disk1).Count, Is.EqualTo(6));

        using var statusReply = await keep.SendAsync(HttpMethod.Get, "status.json");
        using var json = JsonDocument.Parse(await statusReply.Content.ReadAsStringAsync());
        Assert.That(json.RootElement.GetProperty("Volumes").GetArrayLength(), Is.EqualTo(2));
        Assert.That(json.RootElement.GetProperty("Volumes")[0].GetProperty("Status").GetProperty("BytesFree").GetInt64(), Is.GreaterThan(0));

        // The empty block is a block like any other.
        Assert.That(await keep.PutBlockAsync([]), Is.EqualTo("d41d8cd98f00b204e9800998ecf8427e+0"));
        Assert.That(await keep.GetBlockAsync("d41d8cd98f00b204e9800998ecf8427e+0"), Is.EqualTo((200, Array.Empty<byte>())));
    }

    [Test]
    public async Task A_corrupt_copy_on_one_disk_is_served_from_the_other()
    {
        var disk0 = NewDisk("disk0");
        var disk1 = NewDisk("disk1");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk0, "-volume", disk1);
        var block = KeepstoreProcess.RandomBlock(50_000);
        var hash = KeepstoreProcess.Md5(block);
        await keep.PutBlockAsync(block);
        var (holder, other) = File.Exists(BlockFile(disk0, hash)) ? (disk0, disk1) : (disk1, disk0);
        Directory.CreateDirectory(Path.GetDirectoryName(BlockFile(other, hash))!);
        File.Copy(BlockFile(holder, hash), BlockFile(other, hash));
        var corrupt = (byte[])block.Clone();
        corrupt[^1] ^= 0x55;
        File.WriteAllBytes(BlockFile(holder, hash), corrupt);

        var (status, content) = await keep.GetBlockAsync(hash);

        Assert.That(status, Is.EqualTo(200), keep.Log);
        Assert.That(content, SameBytes.As(block));
    }

    [Test]
    public async Task A_block_named_with_its_size_streams_whole_and_head_announces_its_length()
    {
        var disk = NewDisk("disk");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk);
        var block = KeepstoreProcess.RandomBlock((5 * 1024 * 1024) + 3);
        var locator = await keep.PutBlockAsync(block);

        Assert.That(await keep.GetBlockAsync(locator), Is.EqualTo((200, block)));
        using var head = await keep.SendAsync(HttpMethod.Head, locator);
        Assert.That((int)head.StatusCode, Is.EqualTo(200));
        Assert.That(head.Content.Headers.ContentLength, Is.EqualTo(block.Length));
    }

    [Test]
    public async Task Under_serialize_a_block_is_checked_whole_before_a_byte_is_sent()
    {
        // Streaming would hold the one-I/O-at-a-time volume for as long as the client takes to read.
        var disk = NewDisk("disk");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-serialize", "-volume", disk);
        var block = KeepstoreProcess.RandomBlock((3 * 1024 * 1024) + 17);
        var hash = KeepstoreProcess.Md5(block);
        var locator = await keep.PutBlockAsync(block);
        Assert.That(await keep.GetBlockAsync(locator), Is.EqualTo((200, block)));
        var corrupt = (byte[])block.Clone();
        corrupt[^1] ^= 0x55;
        File.WriteAllBytes(BlockFile(disk, hash), corrupt);

        var (status, content) = await keep.GetBlockAsync(locator);

        Assert.That(status, Is.EqualTo(500), "refused before the body started, not cut short");
        Assert.That(Encoding.UTF8.GetString(content), Is.EqualTo("Hash mismatch in stored data\n"));
    }

    [Test]
    public async Task A_wrong_size_hint_gets_the_block_at_its_real_length_and_leaves_the_copy_in_good_standing()
    {
        var disk = NewDisk("disk");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk);
        var block = KeepstoreProcess.RandomBlock((3 * 1024 * 1024) + 5);
        var hash = KeepstoreProcess.Md5(block);
        await keep.PutBlockAsync(block);

        // A hint smaller or larger than the block: the whole block, with its real Content-Length, never a reset.
        foreach (var hint in new[] { 1000, block.Length - 1, block.Length + 1, block.Length + (2 * 1024 * 1024) })
        {
            using var response = await keep.SendAsync(HttpMethod.Get, $"{hash}+{hint}");
            Assert.That((int)response.StatusCode, Is.EqualTo(200), $"hint {hint}");
            Assert.That(response.Content.Headers.ContentLength, Is.EqualTo(block.Length), $"hint {hint}");
            Assert.That(await response.Content.ReadAsByteArrayAsync(), SameBytes.As(block), $"hint {hint}");
            using var head = await keep.SendAsync(HttpMethod.Head, $"{hash}+{hint}");
            Assert.That(head.Content.Headers.ContentLength, Is.EqualTo(block.Length), $"HEAD, hint {hint}");
        }

        // The copy is fine: it was the locators that were wrong.
        Assert.That(await keep.GetBlockAsync($"{hash}+{block.Length}"), Is.EqualTo((200, block)));
        Assert.That(keep.Log, Does.Not.Contain("is corrupt"));
    }

    [Test]
    public async Task A_corrupt_copy_is_never_sent_and_refused_until_written_again()
    {
        var disk = NewDisk("disk");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk);
        var block = KeepstoreProcess.RandomBlock((3 * 1024 * 1024) + 17);
        var hash = KeepstoreProcess.Md5(block);
        var locator = await keep.PutBlockAsync(block);
        var corrupt = (byte[])block.Clone();

        // The flaw is in the last byte: only the end of the stream can reveal it, after most of it was sent.
        corrupt[^1] ^= 0x55;
        File.WriteAllBytes(BlockFile(disk, hash), corrupt);

        // HEAD sends no body: the flaw is found before anything goes out.
        using (var head = await keep.SendAsync(HttpMethod.Head, locator))
        {
            Assert.That((int)head.StatusCode, Is.EqualTo(500));
        }

        // A copy whose mtime changed is read afresh; a GET checks the whole block before its first byte goes out.
        File.SetLastWriteTimeUtc(BlockFile(disk, hash), DateTime.UtcNow.AddMinutes(-5));
        Assert.That((await keep.GetBlockOrCutOffAsync(locator))?.Status, Is.EqualTo(500), "refused, never sent whole");

        // Now known corrupt: refused before a byte is sent, with keepstore's status and message.
        var (status, content) = await keep.GetBlockAsync(locator);
        Assert.That(status, Is.EqualTo(500), keep.Log);
        Assert.That(Encoding.UTF8.GetString(content), Is.EqualTo("Hash mismatch in stored data\n"));
        using (var head = await keep.SendAsync(HttpMethod.Head, locator))
        {
            Assert.That((int)head.StatusCode, Is.EqualTo(500));
        }

        // A copy longer than the block is refused too.
        File.WriteAllBytes(BlockFile(disk, hash), [.. block, 0]);
        Assert.That((await keep.GetBlockOrCutOffAsync(locator))?.Status, Is.EqualTo(500));

        // A PUT of the good block replaces the corrupt copy, which is then served again.
        await keep.PutBlockAsync(block);
        Assert.That(File.ReadAllBytes(BlockFile(disk, hash)), SameBytes.As(block));
        Assert.That(await keep.GetBlockAsync(locator), Is.EqualTo((200, block)));
        Assert.That(keep.Log, Does.Contain($"stored copy of {hash} is corrupt"));
    }

    [Test]
    public async Task A_different_block_with_the_same_md5_is_a_collision_and_is_stored_nowhere()
    {
        // Wang and Yu's MD5 collision: two 128-byte blocks, six bits apart, one hash.
        var original = Convert.FromHexString(
            "d131dd02c5e6eec4693d9a0698aff95c2fcab58712467eab4004583eb8fb7f8955ad340609f4b30283e488832571415a" +
            "085125e8f7cdc99fd91dbdf280373c5bd8823e3156348f5bae6dacd436c919c6dd53e2b487da03fd02396306d248cda0" +
            "e99f33420f577ee8ce54b67080a80d1ec69821bcb6a8839396f9652b6ff72a70");
        var colliding = (byte[])original.Clone();
        foreach (var i in new[] { 19, 45, 59, 83, 109, 123 })
        {
            colliding[i] ^= 0x80;
        }

        var hash = KeepstoreProcess.Md5(original);
        Assert.That(KeepstoreProcess.Md5(colliding), Is.EqualTo(hash));
        var disk0 = NewDisk("disk0");
        var disk1 = NewDisk("disk1");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk0, "-volume", disk1);
        await keep.PutBlockAsync(original);

        using var collision = await keep.PutAsync(hash, colliding);

        Assert.That((int)collision.StatusCode, Is.EqualTo(500));
        Assert.That(await collision.Content.ReadAsStringAsync(), Is.EqualTo("Collision\n"));
        Assert.That(BlocksOn(disk0).Concat(BlocksOn(disk1)), Is.EqualTo(new[] { hash }), "the other disk did not take the colliding block");
        Assert.That((await keep.GetBlockAsync(hash)).Content, Is.EqualTo(original));
    }

    [Test]
    public async Task The_seed_migration_example_writes_new_blocks_only_to_azure_and_still_serves_the_old_ones()
    {
        var disk0 = NewDisk("disk0");
        var disk1 = NewDisk("disk1");
        var old = Enumerable.Range(0, 4).Select(i => KeepstoreProcess.RandomBlock(2000 + i)).ToList();
        await using (var before = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk0, "-volume", disk1))
        {
            foreach (var block in old)
            {
                await before.PutBlockAsync(block);
            }
        }

        var snapshot = Snapshot(disk0, disk1);
        var azurite = await AzuriteServer.GetSharedAsync();
        var container = await azurite.CreateContainerAsync("migration");
        var runDirectory = NewDisk("sv-keepstore");
        KeepTestSecrets.WritePrivateFile(Path.Combine(runDirectory, "exampleaccountname.key"), AzuriteServer.AccountKey + "\n");

        // The seed's run script, word for word, with these directories, Azurite's endpoint and account.
        await using var keep = await KeepstoreProcess.StartInAsync(_coffer, runDirectory,
            "-azure-storage-endpoint", $"http://127.0.0.1:{azurite.Port}",
            "-readonly",
            "-volume", disk0, "-volume", disk1,
            "-readonly=false",
            "-azure-storage-account-key-file", "./exampleaccountname.key",
            "-azure-storage-account-name", AzuriteServer.AccountName,
            "-azure-storage-container-volume", container.Name,
            "-never-delete=false", "-blob-signature-ttl", "1", "-data-manager-token-file", _tokenFile);

        var fresh = Enumerable.Range(0, 4).Select(i => KeepstoreProcess.RandomBlock(3000 + i)).ToList();
        foreach (var block in fresh)
        {
            await keep.PutBlockAsync(block);
        }

        // Writing an old block again lands in Azure too: the read-only copy is neither rewritten nor touched.
        await keep.PutBlockAsync(old[0]);

        var inAzure = new List<string>();
        await foreach (var blob in container.GetBlobsAsync())
        {
            inAzure.Add(blob.Name);
        }

        Assert.That(inAzure, Is.EquivalentTo(fresh.Append(old[0]).Select(KeepstoreProcess.Md5)));
        foreach (var block in old.Concat(fresh))
        {
            var (status, content) = await keep.GetBlockAsync(KeepstoreProcess.Md5(block));
            Assert.That(status, Is.EqualTo(200), keep.Log);
            Assert.That(content, SameBytes.As(block));
        }

        // Deleting and trashing never reach the read-only disks.
        await Task.Delay(1100);
        using (var delete = await keep.SendAsync(HttpMethod.Delete, KeepstoreProcess.Md5(old[1]), DataManagerToken))
        {
            Assert.That((int)delete.StatusCode, Is.EqualTo(404));
        }

        using var index = await keep.SendAsync(HttpMethod.Get, "index", DataManagerToken);
        var trash = (await index.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' '))
            .Where(l => old.Skip(2).Select(KeepstoreProcess.Md5).Contains(l[0][..32]))
            .Select(l => new { locator = l[0], block_mtime = long.Parse(l[1]) });
        using (await keep.SendAsync(HttpMethod.Put, "trash", DataManagerToken, new StringContent(JsonSerializer.Serialize(trash))))
        {
        }

        await Task.Delay(1000);
        Assert.That(Snapshot(disk0, disk1), Is.EqualTo(snapshot), "the read-only disks are unchanged, mtimes included");
        using var mounts = await keep.SendAsync(HttpMethod.Get, "mounts");
        using var json = JsonDocument.Parse(await mounts.Content.ReadAsStringAsync());
        Assert.That(json.RootElement.EnumerateArray().Select(m => m.GetProperty("ReadOnly").GetBoolean()), Is.EqualTo(new[] { true, true, false }));
    }

    [Test]
    public async Task Trash_lists_trash_blocks_that_untrash_brings_back_until_the_trash_is_emptied()
    {
        var disk = NewDisk("trash");
        var block = Encoding.UTF8.GetBytes("garbage to collect");
        var hash = KeepstoreProcess.Md5(block);
        string[] flags = ["-volume", disk, "-data-manager-token-file", _tokenFile, "-never-delete=false", "-blob-signature-ttl", "1s"];
        await using (var keep = await KeepstoreProcess.StartAsync(_coffer, [.. flags, "-trash-lifetime", "1h"]))
        {
            await keep.PutBlockAsync(block);
            await Task.Delay(1100);

            // A stale mtime means the block was written again since the data manager looked: it stays.
            await TrashAsync(keep, hash, 12345);
            await Task.Delay(500);
            Assert.That((await keep.GetBlockAsync(hash)).Status, Is.EqualTo(200));

            await TrashAsync(keep, hash, await MtimeAsync(keep, hash));
            await WaitForStatusAsync(keep, hash, 404);
            using (var untrash = await keep.SendAsync(HttpMethod.Put, $"untrash/{hash}", DataManagerToken))
            {
                Assert.That((int)untrash.StatusCode, Is.EqualTo(200), keep.Log);
            }

            Assert.That((await keep.GetBlockAsync(hash)).Content, Is.EqualTo(block));
        }

        await using (var keep = await KeepstoreProcess.StartAsync(_coffer, [.. flags, "-trash-lifetime", "1s", "-trash-check-interval", "1s"]))
        {
            await TrashAsync(keep, hash, await MtimeAsync(keep, hash));
            await WaitForStatusAsync(keep, hash, 404);
            await Task.Delay(3000);
            using var untrash = await keep.SendAsync(HttpMethod.Put, $"untrash/{hash}", DataManagerToken);
            Assert.That((int)untrash.StatusCode, Is.EqualTo(404), "the trash worker emptied the expired trash");
            Assert.That(Directory.EnumerateFiles(disk, "*", SearchOption.AllDirectories).Where(f => f.Contains(hash, StringComparison.Ordinal)), Is.Empty);
        }
    }

    [Test]
    public async Task A_pull_list_copies_blocks_from_another_keep_server()
    {
        var source = NewDisk("source");
        var target = NewDisk("target");
        await using var from = await KeepstoreProcess.StartAsync(_coffer, "-volume", source, "-data-manager-token-file", _tokenFile);
        await using var to = await KeepstoreProcess.StartAsync(_coffer, "-volume", target, "-data-manager-token-file", _tokenFile);
        var block = KeepstoreProcess.RandomBlock(123_456);
        var hash = KeepstoreProcess.Md5(block);
        await from.PutBlockAsync(block);

        var list = JsonSerializer.Serialize(new[] { new { locator = $"{hash}+{block.Length}", servers = new[] { "http://127.0.0.1:9", from.BaseAddress.ToString() } } });
        using (var pull = await to.SendAsync(HttpMethod.Put, "pull", DataManagerToken, new StringContent(list)))
        {
            Assert.That(await pull.Content.ReadAsStringAsync(), Is.EqualTo("Received 1 pull requests\n"));
        }

        await WaitForStatusAsync(to, hash, 200);
        Assert.That((await to.GetBlockAsync(hash)).Content, Is.EqualTo(block));
        Assert.That(File.ReadAllBytes(BlockFile(target, hash)), Is.EqualTo(block));
    }

    [Test]
    public async Task Bad_command_lines_fail_with_one_line_before_listening()
    {
        var disk = NewDisk("bad");

        var early = await KeepstoreProcess.RunToFailureAsync(_coffer, "-volume", disk, "-azure-storage-container-volume", "containerA");
        var missing = await KeepstoreProcess.RunToFailureAsync(_coffer, "-volume", _root.Combine("no-such-dir"));

        Assert.That(early.ExitCode, Is.EqualTo(1));
        Assert.That(early.Error.Trim(), Is.EqualTo(
            "coffer: -azure-storage-container-volume containerA comes before its account: give -azure-storage-account-name NAME and -azure-storage-account-key-file FILE first"));
        Assert.That(missing.ExitCode, Is.EqualTo(1));
        Assert.That(missing.Error.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(missing.Error, Does.StartWith($"coffer: -volume {_root.Combine("no-such-dir")}: "));

        var listen = await KeepstoreProcess.RunToFailureAsync(_coffer, "-volume", disk, "-listen", "nowhere");
        Assert.That(listen.Error.Trim(), Is.EqualTo("coffer: -listen nowhere: give host:port or :port, e.g. :25107 or 127.0.0.1:25107"));
    }

    [Test]
    public async Task With_only_read_only_volumes_a_put_answers_507_and_writes_nothing()
    {
        var disk = NewDisk("ro");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-readonly", "-volume", disk);
        var block = Encoding.UTF8.GetBytes("nowhere to go");

        using var response = await keep.PutAsync(KeepstoreProcess.Md5(block), block);

        Assert.That((int)response.StatusCode, Is.EqualTo(507));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("Full\n"));
        Assert.That(Directory.EnumerateFileSystemEntries(disk, "*", SearchOption.AllDirectories).Where(e => !Path.GetFileName(e).StartsWith('.')), Is.Empty);
    }

    [Test]
    public async Task The_same_storage_named_twice_is_served_with_a_warning()
    {
        var disk = NewDisk("twice");

        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk, "-readonly", "-volume", disk);

        Assert.That(keep.Log, Does.Contain($"coffer: warning: -volume {disk} and -volume {disk} reach the same storage"));
    }

    [Test]
    public async Task Sigterm_stops_the_server_cleanly()
    {
        var disk = NewDisk("term");
        var pidFile = _root.Combine($"keepstore-{Guid.NewGuid():N}.pid");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk, "-pid", pidFile);
        var pid = int.Parse(File.ReadAllText(pidFile));

        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", pid.ToString()]))
        {
            await kill.WaitForExitAsync();
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!keep.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.That(keep.HasExited, Is.True, keep.Log);
        Assert.That(keep.ExitCode, Is.EqualTo(0), keep.Log);
        Assert.That(keep.Log, Does.Contain("coffer: keepstore stopped"));
        Assert.That(File.Exists(pidFile), Is.False, "the pid file goes with the server");
    }

    private static Dictionary<string, (long Length, DateTime Mtime)> Snapshot(params string[] disks) =>
        disks.SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            .ToDictionary(f => f, f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f)));

    private static async Task TrashAsync(KeepstoreProcess keep, string hash, long mtime)
    {
        var list = JsonSerializer.Serialize(new[] { new { locator = hash, block_mtime = mtime } });
        using var response = await keep.SendAsync(HttpMethod.Put, "trash", DataManagerToken, new StringContent(list));
        Assert.That((int)response.StatusCode, Is.EqualTo(200));
    }

    private static async Task<long> MtimeAsync(KeepstoreProcess keep, string hash)
    {
        using var index = await keep.SendAsync(HttpMethod.Get, $"index/{hash}", DataManagerToken);
        var line = (await index.Content.ReadAsStringAsync()).Split('\n')[0];
        Assert.That(line, Does.StartWith(hash));
        return long.Parse(line.Split(' ')[1]);
    }

    private static async Task WaitForStatusAsync(KeepstoreProcess keep, string hash, int status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await keep.GetBlockAsync(hash)).Status != status)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"GET {hash} never answered {status}\n{keep.Log}");
            await Task.Delay(100);
        }
    }
}
