using System.Globalization;
using System.Text;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository.Crypto;
using Coffer.Engine.Repository.Packs;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Repository.Packs;

public class ZstdCodecTests
{
    private static readonly int StoreLevel = new StoreConfig { Id = "0", Created = DateTimeOffset.UnixEpoch, Chunker = new ChunkerParameters() }.CompressionLevel;

    [OneTimeSetUp]
    public void WeakKdf() => Environment.SetEnvironmentVariable(StoreKeys.TestKdfVariable, "1");

    // Text that compresses as a backup's files do, random bytes that do not, zeros, and one small blob.
    private static IEnumerable<byte[]> Contents()
    {
        var text = new StringBuilder();
        for (var line = 0; text.Length < 300_000; line++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{line}: the quick brown fox {line * 7919 % 1000} jumps over the lazy dog\n");
        }

        var random = new byte[200_000];
        new Random(19).NextBytes(random);
        return [Encoding.UTF8.GetBytes(text.ToString()), random, new byte[1 << 20], Encoding.UTF8.GetBytes("small but long enough to compress: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")];
    }

    [Test]
    public void Native_zstd_loads_and_a_missing_library_falls_back_to_the_managed_port()
    {
        // The ZstdNet package ships libzstd for this runtime, so the native codec is the one a store gets.
        Assert.That(ZstdCodec.Create(StoreLevel).IsNative, Is.True);

        var fallback = ZstdCodec.Create(StoreLevel, nativeLibrary: "libzstd-that-is-not-installed");
        Assert.That(fallback.IsNative, Is.False);
        var content = Contents().First();
        var compressed = new byte[content.Length];
        var restored = new byte[content.Length];
        Assert.That(fallback.TryCompress(content, compressed, out var length), Is.True);
        Assert.That(fallback.TryDecompress(compressed.AsSpan(0, length), restored, out var restoredLength), Is.True);
        Assert.That(restored.AsSpan(0, restoredLength).SequenceEqual(content), Is.True);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Blobs_encoded_by_either_codec_decode_with_the_other_and_damage_is_caught_by_both(bool encrypted)
    {
        var (_, keys) = StoreKeys.CreateNew(encrypted ? "pass" : null, TimeProvider.System);
        var native = new BlobCodec(keys, ZstdCodec.CreateNative(StoreLevel)!);
        var managed = new BlobCodec(keys, ZstdCodec.CreateManaged(StoreLevel));
        foreach (var content in Contents())
        {
            var id = keys.ComputeId(content);
            foreach (var (writer, reader) in new[] { (native, managed), (managed, native) })
            {
                var (buffer, length) = writer.Encode(BlobType.Data, id, content);
                var sealedBytes = buffer.AsSpan(0, length).ToArray();
                BlobBuffers.Pool.Return(buffer);
                var back = new byte[content.Length];
                reader.Decode(BlobType.Data, id, sealedBytes.ToArray(), content.Length, back);
                Assert.That(back, SameBytes.As(content));

                // Without encryption the tag does not guard the frame: a damaged frame must still be caught.
                sealedBytes[sealedBytes.Length / 2] ^= 0x5a;
                Assert.Throws<DamagedBlobException>(() => reader.Decode(BlobType.Data, id, sealedBytes, content.Length, back));
            }
        }

        // Both compress what compresses: the text and the zeros shrink under either codec.
        foreach (var content in Contents().Where(c => c.Length >= 300_000))
        {
            var id = keys.ComputeId(content);
            Assert.That(native.Encode(BlobType.Data, id, content).Length, Is.LessThan(content.Length / 2));
            Assert.That(managed.Encode(BlobType.Data, id, content).Length, Is.LessThan(content.Length / 2));
        }
    }
}
