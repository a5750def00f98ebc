using System.Text;
using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;
using Coffer.Plumbing;
using Coffer.TestSupport;

namespace Coffer.Plugins.Posix.Tests;

/// <summary>The posix plugin's building blocks for sparse files and names that are not UTF-8, and its source and destination with them.</summary>
public class SparseAndRawNameTests
{
    [Test]
    public void Data_extents_of_a_sparse_file_are_its_written_runs_and_skip_its_holes()
    {
        using var root = new TemporaryDirectory("posix-sparse");
        var path = Path.Combine(root.Path, "sparse");
        const long MiB = 1024 * 1024;
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            file.Write(new byte[4096].Select(_ => (byte)1).ToArray());
            file.Position = 2 * MiB;
            file.Write(new byte[8192].Select(_ => (byte)2).ToArray());
            file.SetLength(64 * MiB);
        }

        using var handle = File.OpenHandle(path);
        var extents = DataExtents.Find(handle, 64 * MiB, path);

        // File systems report data in their own block units: a run is at least what was written, never the holes.
        Assert.That(extents, Has.Count.EqualTo(2));
        Assert.That(extents[0].Offset, Is.EqualTo(0));
        Assert.That(extents[0].Length, Is.InRange(4096, MiB));
        Assert.That(extents[1].Offset, Is.InRange(MiB, 2 * MiB));
        Assert.That(extents[1].Offset + extents[1].Length, Is.InRange((2 * MiB) + 8192, 3 * MiB));

        var empty = Path.Combine(root.Path, "all-hole");
        using (var file = new FileStream(empty, FileMode.CreateNew, FileAccess.Write))
        {
            file.SetLength(8 * MiB);
        }

        using var emptyHandle = File.OpenHandle(empty);
        Assert.That(DataExtents.Find(emptyHandle, 8 * MiB, empty), Is.Empty, "a file that is all hole has no data to read");
    }

    [Test]
    public void Raw_names_round_trip_byte_exactly_through_the_abi_string_and_utf8_names_stay_plain()
    {
        byte[][] invalidNames =
        [
            [0x66, 0xFF, 0x6F],                   // a byte that never occurs in UTF-8
            [0xC3],                               // a sequence cut short
            [0xC0, 0xAF, 0x2E],                   // an overlong encoding of '/'
            [0xED, 0xA0, 0x80],                   // a UTF-16 surrogate encoded as UTF-8
            [0xE2, 0x82, 0xAC, 0x80, 0xF0, 0x9F, 0x98, 0x80], // valid euro, stray continuation, valid emoji
            [0xF4, 0x90, 0x80, 0x80],             // beyond U+10FFFF
        ];

        foreach (var raw in invalidNames)
        {
            var name = RawName.Decode(raw);
            Assert.That(RawName.Encode(name), Is.EqualTo(raw), Convert.ToHexString(raw));
            Assert.That(RawName.HasEscapedBytes(name), Is.True, Convert.ToHexString(raw));
            Assert.That(name, Does.Not.Contain("\uFFFD"), "no byte is replaced");
        }

        Assert.That(RawName.Decode([0x66, 0xFF]), Is.EqualTo("f\uDCFF"), "byte 0xNN becomes U+DCNN");

        foreach (var text in new[] { "plain.txt", "caf\u00E9", "\u20AC \U0001F600", "" })
        {
            var raw = Encoding.UTF8.GetBytes(text);
            Assert.That(RawName.Decode(raw), Is.EqualTo(text));
            Assert.That(RawName.Encode(text), Is.EqualTo(raw));
            Assert.That(RawName.HasEscapedBytes(text), Is.False, text);
        }
    }

    [Test]
    public async Task Names_that_are_not_utf8_and_a_path_over_path_max_round_trip_byte_exactly_through_the_source_and_destination()
    {
        using var root = new TemporaryDirectory("posix-raw-names");
        var source = root.Combine("source");
        var restored = root.Combine("restored");
        Directory.CreateDirectory(source);
        RawTree.Create(source);

        await using var from = await PosixPluginHost.Catalog.CreateSourceAsync(new ConnectorConfiguration(source));
        var entries = from.ScanAsync().ToBlockingEnumerable().ToList();
        Assert.That(entries.Where(e => e.Error is not null).Select(e => e.Error), Is.Empty);
        Assert.That(entries.Select(e => e.Path), Does.Contain("f\uDCFFo").And.Contain("lone\uDC80").And.Contain("over\uDCC0\uDCAF/cut\uDCE2\uDC82"));
        Assert.That(entries.Single(e => e.Kind == EntryKind.Symlink).SymlinkTarget, Is.EqualTo("../t\uDCC0\uDCAFrget\uDC80"));
        Assert.That(entries.Max(e => RawName.Encode(e.Path).Length), Is.EqualTo(RawTree.DeepPathBytes).And.GreaterThan(4096));

        // Restored as the engine does: parents first, files and links, then each directory finished, deepest first.
        await using (var to = await PosixPluginHost.Catalog.CreateDestinationAsync(new ConnectorConfiguration(restored)))
        {
            foreach (var entry in entries)
            {
                if (entry.Kind == EntryKind.Directory)
                {
                    await to.CreateDirectoryAsync(entry);
                }
                else if (entry.Kind == EntryKind.Symlink)
                {
                    await to.CreateSymlinkAsync(entry);
                }
                else
                {
                    await using var content = await from.OpenReadAsync(entry.Path);
                    await to.WriteFileAsync(entry, content);
                }
            }

            foreach (var directory in Enumerable.Reverse(entries).Where(e => e.Kind == EntryKind.Directory))
            {
                await to.FinishDirectoryAsync(directory);
            }
        }

        Assert.That(RawTree.Listing(restored), Is.EqualTo(RawTree.Listing(source)));

        await using (var to = await PosixPluginHost.Catalog.CreateDestinationAsync(new ConnectorConfiguration(restored)))
        {
            foreach (var entry in Enumerable.Reverse(entries).Where(e => e.Path.Length > 0))
            {
                await ((IDestinationContent)to).DeleteAsync(entry);
            }
        }

        Assert.That(Directory.EnumerateFileSystemEntries(restored), Is.Empty, "deleted by their raw names, however deep");
    }
}
