using Coffer.Engine.Core;
using Coffer.Engine.Repository.Packs;

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

    [Test]
    public void Lookups_span_the_sorted_part_and_the_overlay_the_first_copy_wins_and_copies_outside_trashed_packs_are_preferred()
    {
        var random = new Random(19);
        var index = new StoreIndex();
        var packs = Enumerable.Range(0, 5).Select(p => (Name: PackName(p), Entries: Entries(random, 1500))).ToList();
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
}
