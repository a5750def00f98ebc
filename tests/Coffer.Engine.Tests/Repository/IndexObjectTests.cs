using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Packs;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Repository;

public class IndexObjectTests
{
    private ConnectorCatalog _catalog = null!;

    [OneTimeSetUp]
    public void Load() => _catalog = EngineHarness.LoadBundled();

    [OneTimeTearDown]
    public void Unload() => _catalog.Dispose();

    private static (string Pack, IReadOnlyList<PackEntry> Entries) Pack(Random random, int number, int blobs)
    {
        var entries = new PackEntry[blobs];
        var id = new byte[BlobId.Size];
        for (var i = 0; i < blobs; i++)
        {
            random.NextBytes(id);
            entries[i] = new PackEntry(BlobType.Data, new BlobId(id), (uint)i * 64, 64, 40);
        }

        return (number.ToString("x64", System.Globalization.CultureInfo.InvariantCulture), entries);
    }

    [Test]
    public async Task An_index_object_lists_a_bounded_number_of_blobs_a_larger_pack_alone_and_the_store_still_finds_every_blob()
    {
        using var temp = new TemporaryDirectory("index-objects");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        var random = new Random(19);
        const int cap = CofferStore.MaxIndexObjectBlobs;
        var packs = new[] { Pack(random, 1, cap / 2), Pack(random, 2, cap / 4), Pack(random, 3, cap + 100), Pack(random, 4, 5) };

        var names = await store.WriteIndexAsync(packs, CancellationToken.None);

        var listed = new List<int>();
        foreach (var name in names)
        {
            var blobs = 0;
            StoreIndex.Decode(store.Keys, await store.ReadObjectAsync(StorageObjectClass.Index, name, CancellationToken.None), name, (_, entries) => blobs += entries.Count);
            listed.Add(blobs);
        }

        // Packs 1 and 2 share an object; pack 3 alone is over the bound (a pack is never split); pack 4 would
        // have pushed pack 3's object further over it, so it starts the next one.
        Assert.That(listed, Is.EqualTo(new[] { cap / 2 + cap / 4, cap + 100, 5 }));

        var reopened = await EngineHarness.ReopenAsync(storage);
        Assert.That(reopened.Index.Count, Is.EqualTo(packs.Sum(p => p.Entries.Count)));
        Assert.That(packs.SelectMany(p => p.Entries).All(e => reopened.Index.Contains(e.Id)), Is.True, "every blob of every object is found again");
    }

    [Test]
    public async Task A_pack_of_small_blobs_closes_at_the_bound_so_a_backup_of_many_small_files_writes_bounded_index_objects()
    {
        using var temp = new TemporaryDirectory("index-objects");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        const int cap = CofferStore.MaxIndexObjectBlobs;
        const int blobs = 2 * cap + 100;
        var random = new Random(23);
        var id = new byte[BlobId.Size];
        using var failure = new CancellationTokenSource();
        using (var uploader = new PackUploader(store, 2, failure))
        {
            for (var i = 0; i < blobs; i++)
            {
                // 40 bytes a blob: by size, all of them would fit one 16 MiB pack.
                var sealedBlob = BlobBuffers.Pool.Rent(40);
                random.NextBytes(id);
                await uploader.AddAsync(BlobType.Data, new BlobId(id), sealedBlob, 40, 40, CancellationToken.None);
            }

            await uploader.CompleteAsync(CancellationToken.None);
        }

        var reopened = await EngineHarness.ReopenAsync(storage);
        Assert.That(reopened.Index.PackEntries.Values.Select(e => e.Count), Is.EquivalentTo(new[] { cap, cap, 100 }), "two full packs by count and the rest");
        foreach (var name in reopened.LoadedIndexObjects)
        {
            var listed = 0;
            StoreIndex.Decode(reopened.Keys, await reopened.ReadObjectAsync(StorageObjectClass.Index, name, CancellationToken.None), name, (_, entries) => listed += entries.Count);
            Assert.That(listed, Is.LessThanOrEqualTo(cap), name);
        }

        Assert.That(reopened.Index.Count, Is.EqualTo(blobs));
    }

    [Test]
    public async Task Many_new_index_objects_extend_the_index_cache_file_and_only_they_are_read()
    {
        using var temp = new TemporaryDirectory("index-cache");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var store = await EngineHarness.CreateAndOpenAsync(storage);
        var counting = new CountingStorage(storage);
        async Task<CofferStore> LoadAsync()
        {
            counting.IndexReads.Clear();
            var config = await CofferStore.ReadConfigAsync(counting, CancellationToken.None);
            var opened = await CofferStore.OpenAsync(counting, config, () => EngineHarness.Passphrase, CancellationToken.None, loadIndex: false);
            opened.IndexCacheRoot = temp.Combine("cache");
            await opened.LoadIndexAsync(CancellationToken.None);
            return opened;
        }

        IEnumerable<string> ObjectsRead() => counting.IndexReads.Keys.Where(n => n != Trash.ObjectName);

        var random = new Random(31);
        var older = await store.WriteIndexAsync([Pack(random, 1, 1000), Pack(random, 2, 1000)], CancellationToken.None);
        await LoadAsync();
        Assert.That(ObjectsRead(), Is.EquivalentTo(older), "the first load builds the file from every object");

        // More new index objects than stay in RAM beside the file.
        var packs = Enumerable.Range(3, 15).Select(n => Pack(random, n, 10_000)).ToList();
        var newer = await store.WriteIndexAsync(packs, CancellationToken.None);
        long newBytes = 0;
        await foreach (var item in storage.ListAsync(StorageObjectClass.Index))
        {
            newBytes += newer.Contains(item.Name) ? item.Size : 0;
        }

        Assert.That(newBytes, Is.GreaterThan(CofferStore.IndexCacheExtensionBytes));
        var extended = await LoadAsync();
        Assert.That(ObjectsRead(), Is.EquivalentTo(newer), "only the new objects are read");
        Assert.That(extended.Index.Cache!.IndexObjects, Is.EquivalentTo(older.Concat(newer)));
        Assert.That(extended.Index.Count, Is.EqualTo(2000 + (15 * 10_000)));
        Assert.That(packs.SelectMany(p => p.Entries).All(e => extended.Index.Contains(e.Id)), Is.True);

        var again = await LoadAsync();
        Assert.That(ObjectsRead(), Is.Empty, "the extended file stands for every object");
        Assert.That(again.Index.Count, Is.EqualTo(extended.Index.Count));
    }
}
