using System.Formats.Tar;
using Coffer.Plumbing;

namespace Coffer.Packager.Tests.Internal;

public class UstarReaderTests
{
    [TestCase(TarEntryFormat.Ustar)]
    [TestCase(TarEntryFormat.Gnu)]
    public async Task Files_and_directories_are_read_in_order(TarEntryFormat format)
    {
        var reader = new UstarReader(Tar(format, ("dir/", TarEntryType.Directory, null), ("dir/a.txt", TarEntryType.RegularFile, "hello")));

        var directory = await reader.NextAsync(default);
        var file = await reader.NextAsync(default);
        var content = new MemoryStream();
        await reader.ReadDataAsync((chunk, ct) => content.WriteAsync(chunk, ct), default);
        var end = await reader.NextAsync(default);

        Assert.That(directory, Is.EqualTo(new UstarEntry("dir/", UstarEntryKind.Directory, 0, 512)));
        Assert.That(file, Is.EqualTo(new UstarEntry("dir/a.txt", UstarEntryKind.File, 5, 1024)));
        Assert.That(System.Text.Encoding.UTF8.GetString(content.ToArray()), Is.EqualTo("hello"));
        Assert.That(end, Is.Null);
    }

    [Test]
    public async Task A_long_path_uses_the_ustar_prefix()
    {
        var name = string.Join('/', Enumerable.Repeat("segment-of-twenty-ch", 8)) + "/file.dll";
        var reader = new UstarReader(Tar(TarEntryFormat.Ustar, (name, TarEntryType.RegularFile, "x")));

        Assert.That((await reader.NextAsync(default))!.Path, Is.EqualTo(name));
    }

    [Test]
    public void A_v7_header_without_magic_is_not_ustar()
    {
        var reader = new UstarReader(Tar(TarEntryFormat.V7, ("a", TarEntryType.V7RegularFile, "x")));

        var error = Assert.ThrowsAsync<TarFormatException>(async () => await reader.NextAsync(default));

        Assert.That(error!.Problem, Is.EqualTo(TarProblem.NotUstar));
    }

    [Test]
    public void Counting_allows_exactly_the_limit()
    {
        using var counting = new CountingStream(new MemoryStream(new byte[10]), 10, limit => new PackageException($"over {limit}"));

        Assert.That(() => counting.CopyTo(Stream.Null), Throws.Nothing);
        Assert.That(counting.BytesRead, Is.EqualTo(10));
    }

    [Test]
    public void Counting_stops_a_stream_one_byte_past_its_limit()
    {
        var inner = new MemoryStream(new byte[100]);
        using var counting = new CountingStream(inner, 10, limit => new PackageException($"over {limit}"));

        Assert.Throws<PackageException>(() => _ = counting.ReadAtLeast(new byte[64], 1));
        Assert.That(inner.Position, Is.EqualTo(11), "never asks for more than one byte beyond the limit");
    }

    private static MemoryStream Tar(TarEntryFormat format, params (string Name, TarEntryType Type, string? Data)[] entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, format, leaveOpen: true))
        {
            foreach (var (name, type, data) in entries)
            {
                TarEntry entry = format switch
                {
                    TarEntryFormat.Gnu => new GnuTarEntry(type, name),
                    TarEntryFormat.V7 => new V7TarEntry(type, name),
                    _ => new UstarTarEntry(type, name),
                };
                if (data is not null)
                {
                    entry.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(data));
                }

                writer.WriteEntry(entry);
            }
        }

        stream.Position = 0;
        return stream;
    }
}
