using Coffer.Engine.Core;
using Coffer.Engine.Core.Chunking;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Crypto;
using Coffer.Engine.Repository.Packs;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Core;

[NonParallelizable]
public class EngineCoreTests
{
    [OneTimeSetUp]
    public void WeakKdf() => Environment.SetEnvironmentVariable(StoreKeys.TestKdfVariable, "1");

    private static byte[] Random(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static List<int> Cut(FastCdc chunker, byte[] data)
    {
        var sizes = new List<int>();
        var at = 0;
        while (at < data.Length)
        {
            var n = chunker.NextBoundary(data.AsSpan(at, Math.Min(data.Length - at, chunker.MaxSize)));
            sizes.Add(n);
            at += n;
        }

        return sizes;
    }

    [Test]
    public void FastCdc_cuts_within_bounds_around_the_average()
    {
        var chunker = new FastCdc(new ChunkerParameters(), new byte[32]);
        var sizes = Cut(chunker, Random(64 << 20, 1));

        Assert.That(sizes.Take(sizes.Count - 1), Is.All.InRange(512 * 1024, 8 * 1024 * 1024));
        var average = sizes.Average();
        Assert.That(average, Is.InRange(700_000, 1_600_000), $"{sizes.Count} chunks");
    }

    [Test]
    public void FastCdc_boundaries_resynchronise_after_an_insertion()
    {
        var chunker = new FastCdc(new ChunkerParameters(), new byte[32]);
        var data = Random(32 << 20, 2);
        var changed = data.Take(16 << 20).Append((byte)42).Concat(data.Skip(16 << 20)).ToArray();

        var before = Cut(chunker, data);
        var after = Cut(chunker, changed);
        var ends = new HashSet<long>(Ends(before).Select(e => e + 1));
        var shared = Ends(after).Count(e => e > (16 << 20) && ends.Contains(e));

        Assert.That(shared, Is.GreaterThanOrEqualTo(before.Count / 2 - 3), "boundaries after the insertion are found again");
    }

    private static IEnumerable<long> Ends(List<int> sizes)
    {
        long at = 0;
        foreach (var size in sizes)
        {
            at += size;
            yield return at;
        }
    }

    [Test]
    public void The_gear_table_depends_on_the_key()
    {
        var data = Random(16 << 20, 3);
        var a = Cut(new FastCdc(new ChunkerParameters(), new byte[32]), data);
        var b = Cut(new FastCdc(new ChunkerParameters(), Enumerable.Repeat((byte)7, 32).ToArray()), data);

        Assert.That(a, Is.Not.EqualTo(b));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Blobs_round_trip_and_any_altered_byte_is_caught(bool encrypted)
    {
        var (_, keys) = StoreKeys.CreateNew(encrypted ? "pass" : null, TimeProvider.System);
        var codec = new BlobCodec(keys, 3);
        foreach (var content in new[] { Random(100_000, 4), new byte[100_000], Array.Empty<byte>() })
        {
            var id = keys.ComputeId(content);
            var (buffer, length) = codec.Encode(BlobType.Data, id, content);
            var sealedBytes = buffer.AsSpan(0, length).ToArray();
            var back = new byte[content.Length];
            codec.Decode(BlobType.Data, id, sealedBytes.ToArray(), content.Length, back);
            Assert.That(back, SameBytes.As(content));

            if (content.Length > 0)
            {
                sealedBytes[sealedBytes.Length / 2] ^= 1;
                Assert.Throws<DamagedBlobException>(() => codec.Decode(BlobType.Data, id, sealedBytes, content.Length, back));
            }
        }
    }

    [Test]
    public void Zeros_compress_and_random_data_is_stored()
    {
        var (_, keys) = StoreKeys.CreateNew("pass", TimeProvider.System);
        var codec = new BlobCodec(keys, 3);
        var zeros = new byte[1 << 20];
        var (_, zerosLength) = codec.Encode(BlobType.Data, keys.ComputeId(zeros), zeros);
        var random = Random(1 << 20, 5);
        var (_, randomLength) = codec.Encode(BlobType.Data, keys.ComputeId(random), random);

        Assert.That(zerosLength, Is.LessThan(1000));
        Assert.That(randomLength, Is.EqualTo(random.Length + 1 + StoreKeys.NonceSize + StoreKeys.TagSize));
    }

    [Test]
    public void A_wrong_passphrase_is_told_apart_from_a_right_one()
    {
        var (config, keys) = StoreKeys.CreateNew("right", TimeProvider.System, keyInConfig: true);
        var parsed = StoreConfig.Parse(config.ToJson());

        Assert.Throws<WrongPassphraseException>(() => StoreKeys.Open(parsed, () => "wrong"));
        var opened = StoreKeys.Open(parsed, () => "right");
        Assert.That(opened.ComputeId([1, 2, 3]), Is.EqualTo(keys.ComputeId([1, 2, 3])));
    }

    [Test]
    public void Ids_are_keyed_per_store()
    {
        var (_, a) = StoreKeys.CreateNew(null, TimeProvider.System);
        var (_, b) = StoreKeys.CreateNew(null, TimeProvider.System);

        Assert.That(a.ComputeId([1, 2, 3]), Is.Not.EqualTo(b.ComputeId([1, 2, 3])));
    }

    [Test]
    public void Index_objects_round_trip()
    {
        var (_, keys) = StoreKeys.CreateNew("pass", TimeProvider.System);
        var entries = Enumerable.Range(0, 100).Select(i => new PackEntry(i % 2 == 0 ? BlobType.Data : BlobType.Tree, keys.ComputeId([(byte)i]), (uint)(i * 10), 10, 9)).ToList();
        var pack = new string('a', 64);

        var index = new StoreIndex();
        index.Load(keys, StoreIndex.Encode(keys, [(pack, entries)]), "test");

        Assert.That(index.Count, Is.EqualTo(100));
        Assert.That(index.TryGet(entries[7].Id, out var location), Is.True);
        Assert.That(location, Is.EqualTo(new BlobLocation(BlobType.Tree, pack, 70, 10, 9)));
    }

    [Test]
    public void Tree_names_and_targets_that_are_not_utf8_are_stored_as_their_bytes_and_read_back_exactly_and_old_trees_still_parse()
    {
        var tree = new TreeNode
        {
            Entries =
            [
                new Node { Name = "f\uDCFFo", Kind = Node.FileKind },
                new Node { Name = "link\uDC80", Kind = Node.SymlinkKind, Target = "../t\uDCC0\uDCAFrget" },
                new Node { Name = "plain \u2615", Kind = Node.SymlinkKind, Target = "plain" },
            ],
        };

        var json = System.Text.Encoding.UTF8.GetString(tree.ToJson());

        // name_raw is base64 of the bytes 66 FF 6F; the display name decodes them with U+FFFD for older readers.
        Assert.That(json, Does.Contain("\"name\":\"f\\uFFFDo\",").And.Contain("\"name_raw\":\"Zv9v\""));
        Assert.That(json, Does.Contain("\"target_raw\":\"Li4vdMCvcmdldA==\""));
        Assert.That(json.Split("name_raw"), Has.Length.EqualTo(3), "plain names carry no raw bytes");
        var read = TreeNode.Parse(tree.ToJson());
        Assert.That(read.Entries.Select(e => (e.Name, e.Target)), Is.EqualTo(tree.Entries.Select(e => (e.Name, e.Target))));
        Assert.That(read.Entries.Select(e => e.NameRaw ?? e.TargetRaw), Is.All.Null, "the raw form lives only in the stored tree");

        // A tree written before name_raw existed reads as it always did.
        var old = TreeNode.Parse("{\"entries\":[{\"name\":\"a\\uFFFDb\",\"kind\":\"symlink\",\"target\":\"x\"}]}"u8);
        Assert.That(old.Entries.Single().Name, Is.EqualTo("a\uFFFDb"));
        Assert.That(DisplayText.Name("f\uDCFFo\n"), Is.EqualTo("\"f\\xffo\\n\""), "shown escaped, on one line");
        Assert.That(DisplayText.Name("caf\u00E9 ok"), Is.EqualTo("caf\u00E9 ok"), "plain text shows as it is");
    }

    [Test]
    public void Pack_headers_round_trip()
    {
        var (_, keys) = StoreKeys.CreateNew("pass", TimeProvider.System);
        var entries = new[] { new PackEntry(BlobType.Data, keys.ComputeId([1]), 0, 100, 90) };

        Assert.That(PackFormat.DecodeHeader(keys, PackFormat.EncodeHeader(keys, entries)), Is.EqualTo(entries));
    }

    [TestCase(20_000_000L)]
    [TestCase(1000L)]
    [TestCase(0L)]
    public async Task The_chunk_reader_cuts_like_the_chunker_whatever_size_the_source_announced(long announced)
    {
        var chunker = new FastCdc(new ChunkerParameters(), new byte[32]);
        var data = Random(20_000_000, 6);
        var expected = Cut(chunker, data);

        // A stream that hands out odd-sized pieces, like a network stream would.
        using var stream = new TrickleStream(data);
        using var reader = new ChunkReader(chunker, stream, announced);
        var sizes = new List<int>();
        var joined = new List<byte>();
        while (await reader.NextAsync(CancellationToken.None) is { } chunk)
        {
            sizes.Add(chunk.Length);
            joined.AddRange(chunk.Buffer.AsSpan(0, chunk.Length).ToArray());
            BlobBuffers.Pool.Return(chunk.Buffer);
        }

        Assert.That(sizes, Is.EqualTo(expected));
        Assert.That(joined.ToArray(), SameBytes.As(data));
        Assert.That(reader.ContentHash(), Is.EqualTo(System.Security.Cryptography.SHA256.HashData(data)));
    }

    [Test]
    public async Task A_window_reused_from_file_to_file_cuts_and_hashes_each_file_as_a_fresh_one_would()
    {
        var chunker = new FastCdc(new ChunkerParameters(), new byte[32]);
        var window = new byte[ChunkReader.WindowSize(chunker)];

        // Large then small: what the large file left in the window must not leak into the small one.
        foreach (var (length, seed) in new[] { (20_000_000, 7), (300_000, 8), (9_000_000, 9), (0, 10) })
        {
            var data = Random(length, seed);
            using var stream = new TrickleStream(data);
            using var reader = new ChunkReader(chunker, stream, length, window);
            var sizes = new List<int>();
            var joined = new List<byte>();
            while (await reader.NextAsync(CancellationToken.None) is { } chunk)
            {
                sizes.Add(chunk.Length);
                joined.AddRange(chunk.Buffer.AsSpan(0, chunk.Length).ToArray());
                BlobBuffers.Pool.Return(chunk.Buffer);
            }

            Assert.That(sizes, Is.EqualTo(Cut(chunker, data)), $"{length} bytes");
            Assert.That(joined.ToArray(), SameBytes.As(data), $"{length} bytes");
            Assert.That(reader.ContentHash(), Is.EqualTo(System.Security.Cryptography.SHA256.HashData(data)), $"{length} bytes");
        }
    }

    [Test]
    public void A_window_shorter_than_one_and_a_half_maximum_chunks_is_refused()
    {
        var chunker = new FastCdc(new ChunkerParameters(), new byte[32]);
        using var stream = new MemoryStream();

        Assert.Throws<ArgumentOutOfRangeException>(() => new ChunkReader(chunker, stream, 0, new byte[chunker.MaxSize]).Dispose());
    }

    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        private int _turn;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 1 + (_turn++ * 7919 % 3_000_000))], cancellationToken);
    }

    [TestCase("*.log", "a/b/c.log", true)]
    [TestCase("*.log", "c.log.txt", false)]
    [TestCase("build", "src/build", true)]
    [TestCase("src/*.tmp", "src/x.tmp", true)]
    [TestCase("src/*.tmp", "src/a/x.tmp", false)]
    [TestCase("src/**/*.tmp", "src/a/b/x.tmp", true)]
    public void Excludes_match_names_and_paths(string glob, string path, bool excluded) =>
        Assert.That(new ExcludeMatcher([glob]).Matches(path), Is.EqualTo(excluded));
}
