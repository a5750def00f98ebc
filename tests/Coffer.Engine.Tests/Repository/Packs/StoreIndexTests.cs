using Coffer.Engine.Core;
using Coffer.Engine.Repository.Packs;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Repository.Packs;

public class StoreIndexTests
{
    private static BlobId Id(Random random)
    {
        Span<byte> bytes = stackalloc byte[BlobId.Size];
        random.NextBytes(bytes);
        return new BlobId(bytes);
    }

    private static string PackName(int number) => number.ToString("x64", System.Globalization.CultureInfo.InvariantCulture);

    private static PackEntry[] Entries(Random random, int count) =>
        Enumerable.Range(0, count).Select(i => new PackEntry(i % 3 == 0 ? BlobType.Tree : BlobType.Data, Id(random), (uint)(i * 100), 100, 90)).ToArray();

    // Builds a cache file of the packs in runs of runLength records (several runs to merge) and opens it.
    private static IndexCache BuildCache(TemporaryDirectory directory, IEnumerable<(string Name, PackEntry[] Entries)> packs, int runLength)
    {
        using var builder = new IndexCacheBuilder(directory.Path, runLength);
        foreach (var (name, entries) in packs)
        {
            builder.AddPack(name, entries);
        }

        return builder.Finish(directory.Combine("index"), ["index-object-1", "index-object-2"]);
    }

    [TestCase(false, TestName = "Lookups_span_the_sorted_part_and_the_overlay_the_first_copy_wins_and_copies_outside_trashed_packs_are_preferred")]
    [TestCase(true, TestName = "The_same_holds_with_the_packs_in_an_index_cache_file_under_the_index_and_the_later_pack_in_RAM")]
    public void Lookups_span_the_sorted_part_and_the_overlay_the_first_copy_wins_and_copies_outside_trashed_packs_are_preferred(bool cached)
    {
        var random = new Random(19);
        var index = new StoreIndex();
        var packs = Enumerable.Range(0, 5).Select(p => (Name: PackName(p), Entries: Entries(random, 1500))).ToList();
        using var directory = new TemporaryDirectory();
        using var cache = cached ? BuildCache(directory, packs, runLength: 1000) : null;
        if (cache is not null)
        {
            index.UseCache(cache);
            Assert.That(cache.IndexObjects, Is.EquivalentTo(new[] { "index-object-1", "index-object-2" }));
            Assert.That((cache.RecordCount, cache.DistinctCount, cache.PackCount), Is.EqualTo((5 * 1500L, 5 * 1500L, 5)));
        }

        foreach (var (name, entries) in packs)
        {
            index.AddPack(name, entries);
        }

        // A later pack repeating a blob of the first (a repack, two concurrent backups), and one new blob left in the overlay.
        var duplicate = packs[0].Entries[10];
        var late = new PackEntry(BlobType.Data, Id(random), 0, 7, 7);
        index.AddPack(PackName(9), [late, duplicate with { Offset = 7 }]);

        Assert.That(index.Count, Is.EqualTo(5 * 1500 + 1));
        foreach (var (name, entries) in packs)
        {
            foreach (var entry in entries)
            {
                Assert.That(index.TryGet(entry.Id, out var location), Is.True);
                Assert.That(location, Is.EqualTo(new BlobLocation(entry.Type, name, entry.Offset, entry.Length, entry.RawLength)));
            }
        }

        Assert.That(index.TryGet(late.Id, out var lateLocation) && lateLocation.Pack == PackName(9), Is.True);
        Assert.That(index.TryGet(Id(random), out _), Is.False);
        Assert.That(index.Contains(Id(random)), Is.False);

        // Every pack lists its own entries, duplicates included, and the same pack added again changes nothing.
        index.AddPack(packs[1].Name, Entries(random, 3));
        Assert.That(index.PackEntries[packs[1].Name], Is.EqualTo(packs[1].Entries));
        Assert.That(index.PackEntries[PackName(9)], Is.EqualTo(new[] { late, duplicate with { Offset = 7 } }));
        Assert.That(index.PackEntries.Keys, Is.EquivalentTo(packs.Select(p => p.Name).Append(PackName(9))));
        Assert.That(index.Blobs.Count(), Is.EqualTo(index.Count));

        // Marking the first pack for deletion: its duplicated blob now reads from the other copy, the rest
        // still read from it but a backup stores them again.
        index.Trashed = new HashSet<string>([packs[0].Name], StringComparer.Ordinal);
        Assert.That(index.TryGet(duplicate.Id, out var moved) && moved.Pack == PackName(9) && moved.Offset == 7, Is.True);
        Assert.That(index.Contains(duplicate.Id), Is.True);
        Assert.That(index.TryGet(packs[0].Entries[11].Id, out var stays) && stays.Pack == packs[0].Name, Is.True);
        Assert.That(index.Contains(packs[0].Entries[11].Id), Is.False);
        Assert.That(index.Count, Is.EqualTo(5 * 1500 + 1));
    }

    [Test]
    public void An_index_of_200_000_blobs_holds_under_60_bytes_a_blob()
    {
        const int blobs = 200_000;
        Assert.That(StoreIndex.BytesPerBlob, Is.EqualTo(52));

        var random = new Random(1);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var index = new StoreIndex();
        for (var p = 0; p < blobs / 1000; p++)
        {
            index.AddPack(PackName(p), Entries(random, 1000));
        }

        index.Compact();
        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        Assert.That(index.Count, Is.EqualTo(blobs));
        Assert.That(held, Is.LessThan(60L * blobs), $"{held / (double)blobs:F1} bytes a blob");
        GC.KeepAlive(index);
    }

    [Test]
    public void An_index_cache_file_of_400_000_blobs_costs_under_one_byte_of_RAM_a_blob_and_a_damaged_one_is_refused()
    {
        const int blobs = 400_000;
        var random = new Random(3);
        var packs = Enumerable.Range(0, blobs / 1000).Select(p => (Name: PackName(p), Entries: Entries(random, 1000))).ToList();
        using var directory = new TemporaryDirectory();
        BuildCache(directory, packs, runLength: 100_000).Dispose();
        var path = directory.Combine("index");
        Assert.That(Directory.GetFiles(directory.Path), Is.EqualTo(new[] { path }), "the builder's scratch files are gone");

        // Everything opening the file and looking blobs up allocates, on this thread, is an upper bound on what it holds.
        var before = GC.GetAllocatedBytesForCurrentThread();
        using (var cache = IndexCache.TryOpen(path))
        {
            Assert.That(cache, Is.Not.Null);
            var index = new StoreIndex();
            index.UseCache(cache!);
            for (var p = 0; p < packs.Count; p += 7)
            {
                var entry = packs[p].Entries[p % 1000];
                Assert.That(index.TryGet(entry.Id, out var location) && location == new BlobLocation(entry.Type, packs[p].Name, entry.Offset, entry.Length, entry.RawLength), Is.True);
            }

            Assert.That(index.Contains(Id(random)), Is.False);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.That(allocated, Is.LessThan(blobs), $"{allocated / (double)blobs:F2} bytes a blob");
            Assert.That(cache!.FenceBytes, Is.EqualTo(blobs / IndexCache.FenceStride * sizeof(ulong)));
            Assert.That(index.Count, Is.EqualTo(blobs));
        }

        // One flipped byte anywhere (here in the sorted records) fails the checksum: the file is not read, the store rebuilds it.
        using (var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = file.Length - 100;
            var b = file.ReadByte();
            file.Position--;
            file.WriteByte((byte)(b ^ 1));
        }

        Assert.That(IndexCache.TryOpen(path), Is.Null);
    }

    [Test]
    public void An_index_cache_extended_by_new_packs_is_byte_for_byte_the_file_one_build_of_all_of_them_writes()
    {
        var random = new Random(29);
        var packs = Enumerable.Range(0, 8).Select(p => (Name: PackName(p), Entries: Entries(random, 1500))).ToList();
        // Later packs repeat blobs of earlier ones, across the two builds and within the second; pack 1 listed
        // again with other entries keeps its first.
        var copied = packs[0].Entries[10];
        packs[6].Entries[3] = copied with { Offset = 7 };
        packs[7].Entries[5] = packs[6].Entries[4] with { Offset = 9 };
        var relisted = (Name: packs[1].Name, Entries: Entries(random, 4));
        string[] objects = ["object-a", "object-b"];
        using var whole = new TemporaryDirectory();
        using (var builder = new IndexCacheBuilder(whole.Path, runLength: 1000))
        {
            foreach (var (name, entries) in packs.Append(relisted))
            {
                builder.AddPack(name, entries);
            }

            builder.Finish(whole.Combine("index"), objects).Dispose();
        }

        using var extended = new TemporaryDirectory();
        var path = extended.Combine("index");
        BuildCache(extended, packs.Take(5), runLength: 1000).Dispose();
        using (var first = IndexCache.TryOpen(path))
        using (var builder = new IndexCacheBuilder(extended.Path, runLength: 1000))
        {
            builder.AddCache(first!);
            foreach (var (name, entries) in packs.Skip(5).Append(relisted))
            {
                builder.AddPack(name, entries);
            }

            builder.Finish(path, objects).Dispose();
        }

        Assert.That(File.ReadAllBytes(path), SameBytes.As(File.ReadAllBytes(whole.Combine("index"))));
        Assert.That(Directory.GetFiles(extended.Path), Is.EqualTo(new[] { path }), "the builder's scratch files are gone");
        using var cache = IndexCache.TryOpen(path);
        var index = new StoreIndex();
        index.UseCache(cache!);
        Assert.That((cache!.RecordCount, cache.DistinctCount, cache.PackCount), Is.EqualTo((8 * 1500L, 8 * 1500L - 2, 8)));
        Assert.That(index.TryGet(copied.Id, out var location) && location == new BlobLocation(copied.Type, packs[0].Name, copied.Offset, copied.Length, copied.RawLength), Is.True, "the copy indexed first is found");
        Assert.That(index.PackEntries[packs[1].Name], Is.EqualTo(packs[1].Entries));
    }
}
