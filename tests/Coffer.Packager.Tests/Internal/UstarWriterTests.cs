using System.Formats.Tar;
using Coffer.Plumbing;

namespace Coffer.Packager.Tests.Internal;

public class UstarWriterTests
{
    // Packages were written with System.Formats.Tar; the same input must still give the same bytes.
    [TestCase("manifest.json", 0)]
    [TestCase("Coffer.Plugins.Posix.dll", 700)]
    [TestCase("runtimes/segment-of-twenty-ch/segment-of-twenty-ch/segment-of-twenty-ch/segment-of-twenty-ch/segment-of-twenty-ch/native/libx.so", 512)]
    public async Task Writes_what_System_Formats_Tar_wrote(string path, int size)
    {
        var data = Enumerable.Range(0, size).Select(i => (byte)i).ToArray();
        var expected = new MemoryStream();
        using (var writer = new TarWriter(expected, TarEntryFormat.Ustar, leaveOpen: true))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, path)
            {
                DataStream = new MemoryStream(data),
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                ModificationTime = DateTimeOffset.UnixEpoch,
                UserName = "",
                GroupName = "",
            });
        }

        var actual = new MemoryStream();
        var ustar = new UstarWriter(actual);
        await ustar.WriteFileAsync(path, size, new MemoryStream(data), default);
        await ustar.FinishAsync(default);

        Assert.That(actual.ToArray(), Is.EqualTo(expected.ToArray()));
    }

    [TestCase(3)]
    [TestCase(5)]
    public void Content_of_another_size_than_declared_is_refused(int actualSize)
    {
        var ustar = new UstarWriter(new MemoryStream());

        var error = Assert.ThrowsAsync<TarFormatException>(() => ustar.WriteFileAsync("a", 4, new MemoryStream(new byte[actualSize]), default));

        Assert.That(error!.Problem, Is.EqualTo(TarProblem.SizeMismatch));
    }

    [Test]
    public async Task What_it_writes_the_reader_reads()
    {
        var archive = new MemoryStream();
        var ustar = new UstarWriter(archive);
        await ustar.WriteFileAsync("CONFIG", 3, new MemoryStream([1, 2, 3]), default);
        await ustar.WriteFileAsync("packfiles/ab", 600, new MemoryStream(new byte[600]), default);
        await ustar.FinishAsync(default);
        archive.Position = 0;

        var reader = new UstarReader(archive);

        Assert.That(await reader.NextAsync(default), Is.EqualTo(new UstarEntry("CONFIG", UstarEntryKind.File, 3, 512)));
        Assert.That(await reader.NextAsync(default), Is.EqualTo(new UstarEntry("packfiles/ab", UstarEntryKind.File, 600, 1536)));
        Assert.That(await reader.NextAsync(default), Is.Null);
    }
}
