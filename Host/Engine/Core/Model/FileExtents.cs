using Coffer.Abstractions;

namespace Coffer.Engine.Core.Model;

/// <summary>
/// A file node's data runs (<see cref="Node.Extents"/>): how backup records them and how every reader of a
/// file's content (restore, dump, check, sync, the web interface) gets the whole content back from them.
/// </summary>
internal static class FileExtents
{
    /// <summary>
    /// Holes shorter than this are read and stored as data: a file with many small holes (a database) keeps a
    /// short extents list, at the cost of at most this many zeros read per run.
    /// </summary>
    public const long MinimumHole = 64 * 1024;

    /// <summary>
    /// The runs a backup reads of content of <paramref name="length"/> bytes with <paramref name="runs"/>, holes
    /// shorter than <see cref="MinimumHole"/> merged into the data; null when that leaves no hole (the file is
    /// read whole, as one without <see cref="ISparseContent"/>).
    /// </summary>
    public static IReadOnlyList<DataRun>? PlanReads(IReadOnlyList<DataRun> runs, long length)
    {
        var merged = new List<DataRun>();
        foreach (var run in runs)
        {
            // A source's runs are trusted only as far as they fit the length, in order.
            var start = Math.Max(run.Offset, merged.Count == 0 ? 0 : merged[^1].End);
            var end = Math.Min(run.End, length);
            if (end <= start)
            {
                continue;
            }

            var previousEnd = merged.Count == 0 ? 0 : merged[^1].End;
            if (start - previousEnd < MinimumHole)
            {
                start = merged.Count == 0 ? 0 : merged[^1].Offset;
                if (merged.Count > 0)
                {
                    merged.RemoveAt(merged.Count - 1);
                }
            }

            merged.Add(new DataRun(start, end - start));
        }

        if (merged.Count > 0 && length - merged[^1].End < MinimumHole)
        {
            merged[^1] = merged[^1] with { Length = length - merged[^1].Offset };
        }

        var dense = length == 0 || (merged is [var only] && only.Offset == 0 && only.Length == length);
        return dense ? null : merged;
    }

    /// <summary>The node's form of <paramref name="runs"/>.</summary>
    public static IReadOnlyList<long[]> ToNode(IEnumerable<DataRun> runs) => runs.Select(r => new[] { r.Offset, r.Length }).ToList();

    /// <summary>The data runs of a file node with <see cref="Node.Extents"/>, checked against its size.</summary>
    /// <exception cref="StoreFormatException">They are not in order, overlap, or reach past the size.</exception>
    public static IReadOnlyList<DataRun> Runs(Node file, string path)
    {
        var runs = new List<DataRun>(file.Extents?.Count ?? 0);
        foreach (var pair in file.Extents ?? [])
        {
            if (pair is not [var offset, var length] || length <= 0 || offset < (runs.Count == 0 ? 0 : runs[^1].End) || offset > file.Size - length)
            {
                throw new StoreFormatException($"{path}: its extents are damaged (out of order, overlapping or past its size): the store is damaged");
            }

            runs.Add(new DataRun(offset, length));
        }

        return runs;
    }

    /// <summary>
    /// The whole content of <paramref name="file"/> from <paramref name="stored"/>, the stream of its chunks:
    /// that stream itself for a file without holes, else one that reads zeros for the holes and can skip them.
    /// </summary>
    public static Stream Open(Node file, Stream stored, string path) =>
        file.Extents is null ? stored : new SparseContentStream(stored, Runs(file, path), file.Size, path);

    /// <summary>The extents as one string (null without), to key contents by.</summary>
    public static string? Key(Node file) => file.Extents is null ? null : string.Join(',', file.Extents.Select(e => string.Join(':', e)));

    /// <summary>Whether two file nodes have the same content: the same chunks in the same places.</summary>
    public static bool SameContent(Node a, Node b) =>
        a.Size == b.Size && (a.Content ?? []).SequenceEqual(b.Content ?? [])
        && (a.Extents is null) == (b.Extents is null)
        && (a.Extents ?? []).SelectMany(e => e).SequenceEqual((b.Extents ?? []).SelectMany(e => e));
}
