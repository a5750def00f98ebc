using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;

namespace Coffer.Engine.Tests.Core;

/// <summary>The rules of a file's data runs: what backup reads, what a tree may hold, how the content reads back.</summary>
public class FileExtentsTests
{
    private const long KiB = 1024;

    [Test]
    public void Backup_reads_runs_with_small_holes_merged_and_a_file_without_real_holes_whole()
    {
        const long Hole = FileExtents.MinimumHole;
        var length = 100 * Hole;

        Assert.That(FileExtents.PlanReads([new DataRun(0, length)], length), Is.Null, "no hole: read whole");
        Assert.That(FileExtents.PlanReads([], 0), Is.Null, "an empty file is read as before");
        Assert.That(FileExtents.PlanReads([], length), Is.Empty, "all hole: nothing to read");
        Assert.That(FileExtents.PlanReads([new DataRun(4 * KiB, 8 * KiB), new DataRun(20 * KiB, 4 * KiB)], 40 * KiB), Is.Null,
            "holes under the minimum are read as data, which here leaves none");
        Assert.That(FileExtents.PlanReads([new DataRun(10 * Hole, Hole), new DataRun((11 * Hole) + 4, Hole), new DataRun(50 * Hole, 80 * Hole)], length),
            Is.EqualTo(new[] { new DataRun(10 * Hole, (2 * Hole) + 4), new DataRun(50 * Hole, 50 * Hole) }),
            "a small hole between runs joins them; a run past the length is cut to it");
    }

    [Test]
    public void Damaged_extents_are_refused_and_content_reads_back_with_zeros_where_only_holes_can_be_skipped()
    {
        Node File(params long[][] extents) => new() { Name = "f", Kind = Node.FileKind, Size = 100, Extents = extents };
        foreach (var damaged in new[] { File([10, 0]), File([10, 20], [25, 5]), File([90, 20]), File([-1, 5]), File([1, 2, 3]) })
        {
            Assert.Throws<StoreFormatException>(() => FileExtents.Runs(damaged, "f"), string.Join(" ", damaged.Extents!.Select(e => $"[{string.Join(',', e)}]")));
        }

        var file = File([10, 3], [50, 2]);
        using var content = FileExtents.Open(file, new MemoryStream([1, 2, 3, 4, 5]), "f");
        var sparse = (ISparseContent)content;
        Assert.That((sparse.ContentLength, sparse.DataRuns), Is.EqualTo((100L, new[] { new DataRun(10, 3), new DataRun(50, 2) })));
        Assert.That(() => sparse.SkipTo(11), Throws.InstanceOf<ArgumentOutOfRangeException>(), "data cannot be skipped");
        sparse.SkipTo(10);
        var whole = new byte[100];
        content.ReadExactly(whole.AsSpan(10));
        Assert.That(content.Read(new byte[1]), Is.Zero);
        var expected = new byte[100];
        expected[10] = 1;
        expected[11] = 2;
        expected[12] = 3;
        expected[50] = 4;
        expected[51] = 5;
        Assert.That(whole, Is.EqualTo(expected));

        using var longer = FileExtents.Open(file, new MemoryStream([1, 2, 3, 4, 5, 6]), "f");
        Assert.Throws<StoreFormatException>(() => longer.CopyTo(Stream.Null), "stored content longer than the runs is damage");
    }
}
