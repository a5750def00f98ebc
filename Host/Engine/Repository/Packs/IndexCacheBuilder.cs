using System.IO.Hashing;
using Coffer.Engine.Core;

namespace Coffer.Engine.Repository.Packs;

/// <summary>
/// Writes an <see cref="IndexCache"/> file from the packs of the index objects, in RAM bounded by
/// <see cref="RunLength"/> records whatever the store's size: records go to a pack-order file as they come,
/// and in sorted runs to run files that are merged at the end. A build may start from an existing file
/// (<see cref="AddCache"/>), so new index objects extend it without the old ones being read again.
/// Safe for concurrent <see cref="AddPack"/> calls.
/// </summary>
internal sealed class IndexCacheBuilder : IDisposable
{
    /// <summary>Records sorted in RAM at once (about 14 MiB of them).</summary>
    public const int RunLength = 1 << 18;

    private readonly Lock _gate = new();
    private readonly string _directory;
    private readonly string _byPackPath;
    private readonly FileStream _byPack;
    private readonly List<string> _runs = [];
    private readonly Dictionary<string, int> _packNumbers = new(StringComparer.Ordinal);
    private readonly List<(string Name, long First, int Count)> _packs = [];
    private readonly (IndexRecord Record, long Arrival)[] _run;
    private int _runCount;
    private long _count;
    private IndexCache? _base;

    /// <summary>Starts a build whose scratch files go to <paramref name="directory"/> (the cache's own).</summary>
    public IndexCacheBuilder(string directory, int runLength = RunLength)
    {
        _directory = directory;
        _run = new (IndexRecord, long)[runLength];
        _byPackPath = Scratch("bypack");
        _byPack = new FileStream(_byPackPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
    }

    /// <summary>
    /// Starts from the packs and records of <paramref name="cache"/>, which must stay open until
    /// <see cref="Finish"/> returns: its records come before any added later, its pack numbers are kept, and
    /// its sorted part is merged as one more run. Called before any <see cref="AddPack"/>.
    /// </summary>
    public void AddCache(IndexCache cache)
    {
        lock (_gate)
        {
            if (_packs.Count != 0 || _base is not null)
            {
                throw new InvalidOperationException("an index cache goes first into an empty build");
            }

            _base = cache;
            foreach (var pack in cache.Packs)
            {
                _packNumbers.Add(pack.Name, _packs.Count);
                _packs.Add(pack);
            }

            cache.CopyRecordsByPackTo(_byPack);
            _count = cache.RecordCount;
        }
    }

    /// <summary>Adds a pack and its entries; a pack already added keeps the entries it was first listed with.</summary>
    public void AddPack(string pack, IReadOnlyList<PackEntry> entries)
    {
        lock (_gate)
        {
            if (!_packNumbers.TryAdd(pack, _packs.Count))
            {
                return;
            }

            var number = _packs.Count;
            _packs.Add((pack, _count, entries.Count));
            Span<byte> bytes = stackalloc byte[IndexRecord.Size];
            foreach (var entry in entries)
            {
                var record = IndexRecord.From(entry, number);
                record.WriteTo(bytes);
                _byPack.Write(bytes);
                _run[_runCount++] = (record, _count++);
                if (_runCount == _run.Length)
                {
                    FlushRun();
                }
            }
        }
    }

    /// <summary>Writes the cache file for <paramref name="indexObjects"/> to <paramref name="path"/> (replacing it whole) and opens it.</summary>
    public IndexCache Finish(string path, IReadOnlyCollection<string> indexObjects)
    {
        FlushRun();
        var temporary = Scratch("new");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                var hash = new XxHash128();
                var hashed = new IndexCache.HashingStream(file, hash);
                using (var writer = new BinaryWriter(hashed, System.Text.Encoding.UTF8, leaveOpen: true))
                {
                    IndexCache.WriteHeader(writer, indexObjects, _packs, _count);
                    _byPack.Position = 0;
                    _byPack.CopyTo(hashed);
                    writer.Write(Merge(hashed));
                }

                file.Write(hash.GetCurrentHash());
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }

        return IndexCache.TryOpen(path) ?? throw new StoreException($"the index cache {path} could not be read back after it was written");
    }

    // Writes the sorted part; returns how many distinct blobs it holds.
    private long Merge(Stream destination)
    {
        var bytes = new byte[IndexRecord.Size * 1024];
        var used = 0;
        long distinct = 0;
        BlobId? last = null;
        foreach (var record in MergeRecords())
        {
            if (last != record.Id)
            {
                distinct++;
                last = record.Id;
            }

            record.WriteTo(bytes.AsSpan(used));
            used += IndexRecord.Size;
            if (used == bytes.Length)
            {
                destination.Write(bytes, 0, used);
                used = 0;
            }
        }

        destination.Write(bytes, 0, used);
        return distinct;
    }

    // A k-way merge of the sorted runs, the base file's sorted part first; runs are in arrival order, so equal
    // ids come out in the order they were indexed.
    private IEnumerable<IndexRecord> MergeRecords()
    {
        var sources = _runs.Select(ReadRun);
        if (_base is not null)
        {
            sources = sources.Prepend(_base.Sorted());
        }

        var runs = sources.Select(s => s.GetEnumerator()).ToList();
        try
        {
            var heads = new PriorityQueue<int, (BlobId Id, int Run)>(runs.Count, Comparer<(BlobId Id, int Run)>.Create((x, y) => x.Id != y.Id ? x.Id.CompareTo(y.Id) : x.Run.CompareTo(y.Run)));
            for (var run = 0; run < runs.Count; run++)
            {
                if (runs[run].MoveNext())
                {
                    heads.Enqueue(run, (runs[run].Current.Id, run));
                }
            }

            while (heads.TryDequeue(out var run, out _))
            {
                yield return runs[run].Current;
                if (runs[run].MoveNext())
                {
                    heads.Enqueue(run, (runs[run].Current.Id, run));
                }
            }
        }
        finally
        {
            foreach (var run in runs)
            {
                run.Dispose();
            }
        }
    }

    private static IEnumerable<IndexRecord> ReadRun(string path)
    {
        using var reader = new BufferedStream(File.OpenRead(path), 1 << 16);
        var bytes = new byte[IndexRecord.Size];
        while (reader.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) == bytes.Length)
        {
            yield return IndexRecord.Read(bytes);
        }
    }

    private void FlushRun()
    {
        if (_runCount == 0)
        {
            return;
        }

        Array.Sort(_run, 0, _runCount, Comparer<(IndexRecord Record, long Arrival)>.Create((x, y) => x.Record.Id != y.Record.Id ? x.Record.Id.CompareTo(y.Record.Id) : x.Arrival.CompareTo(y.Arrival)));
        var path = Scratch($"run{_runs.Count}");
        _runs.Add(path);
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        Span<byte> bytes = stackalloc byte[IndexRecord.Size];
        for (var i = 0; i < _runCount; i++)
        {
            _run[i].Record.WriteTo(bytes);
            file.Write(bytes);
        }

        _runCount = 0;
    }

    private string Scratch(string what) => Path.Combine(_directory, $".{what}-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public void Dispose()
    {
        _byPack.Dispose();
        foreach (var run in _runs)
        {
            File.Delete(run);
        }
    }
}
