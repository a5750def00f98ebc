using System.Diagnostics;
using System.Formats.Tar;
using System.Runtime.InteropServices;
using System.Text;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

/// <summary>
/// Every file type through backup, restore and dump as a user types them: hard links, a fifo, a socket, a
/// character device, extended attributes and owners, compared with stat(1) and lgetxattr on the real files.
/// Devices, trusted.* attributes and owners need root: the test checks them when it runs as root (as it does here).
/// </summary>
public partial class FileTypeTests
{
    private const uint Nobody = 65534;

    [Test]
    public async Task Hard_links_special_files_xattrs_and_owners_round_trip_and_dump_carries_links_and_fifos()
    {
        using var temp = new TemporaryDirectory("file-types");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        var root = geteuid() == 0;
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.WriteAllText(Path.Combine(source, "a.txt"), "linked content");
        Check(link(Path.Combine(source, "a.txt"), Path.Combine(source, "b.txt")), "link");
        Check(link(Path.Combine(source, "a.txt"), Path.Combine(source, "sub", "c.txt")), "link");
        Check(mknod(Path.Combine(source, "pipe"), 0x1000 | 0x1A4, 0), "mkfifo");
        // A socket file as mknod makes it (.NET removes the file of a socket it bound when it closes it).
        Check(mknod(Path.Combine(source, "sock"), 0xC000 | 0x1ED, 0), "mknod socket");

        SetXattr(Path.Combine(source, "a.txt"), "user.coffer.note", "kept ☕");
        SetXattr(Path.Combine(source, "sub"), "user.coffer.dir", "on a directory");
        if (root)
        {
            Check(mknod(Path.Combine(source, "null"), 0x2000 | 0x1B6, (1 << 8) | 3), "mknod"); // like /dev/null, 1:3
            SetXattr(Path.Combine(source, "a.txt"), "trusted.coffer", "root only");
            File.WriteAllText(Path.Combine(source, "owned.txt"), "nobody's");
            Check(lchown(Path.Combine(source, "owned.txt"), Nobody, Nobody), "lchown");
        }

        var backup = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());

        var target = temp.Combine("target");
        var restore = await coffer.RunAsync("at", store, "restore", "latest", "-to", target);
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());

        // Hard links: one inode with three names, as in the source.
        var links = new[] { "a.txt", "b.txt", "sub/c.txt" }.Select(p => Stat(target, p, "%i %h")).ToList();
        Assert.That(links.Distinct().ToList(), Has.Count.EqualTo(1), string.Join(", ", links));
        Assert.That(links[0], Does.EndWith(" 3"));
        Assert.That(File.ReadAllText(Path.Combine(target, "sub", "c.txt")), Is.EqualTo("linked content"));
        Assert.That(Stat(target, "pipe", "%F %a"), Is.EqualTo("fifo 644"));
        Assert.That(Stat(target, "sock", "%F"), Is.EqualTo("socket"));
        Assert.That(GetXattr(Path.Combine(target, "a.txt"), "user.coffer.note"), Is.EqualTo("kept ☕"));
        Assert.That(GetXattr(Path.Combine(target, "sub"), "user.coffer.dir"), Is.EqualTo("on a directory"));
        foreach (var path in new[] { "a.txt", "pipe", "sock", "sub" })
        {
            Assert.That(Stat(target, path, "%Y %u %g"), Is.EqualTo(Stat(source, path, "%Y %u %g")), path);
        }

        if (root)
        {
            Assert.That(Stat(target, "null", "%F %t:%T %a %Y"), Is.EqualTo(Stat(source, "null", "%F %t:%T %a %Y")).And.StartWith("character special file 1:3 "));
            Assert.That(GetXattr(Path.Combine(target, "a.txt"), "trusted.coffer"), Is.EqualTo("root only"));
            Assert.That(Stat(target, "owned.txt", "%u %g %U"), Is.EqualTo("65534 65534 nobody"));

            // --numeric-owner: the same numbers here (the names map to them); accepted, and owners still set.
            var numeric = temp.Combine("numeric");
            var byNumber = await coffer.RunAsync("at", store, "restore", "latest", "-to", numeric, "--numeric-owner", "--include", "owned.txt");
            Assert.That(byNumber.ExitCode, Is.Zero, byNumber.ToString());
            Assert.That(Stat(numeric, "owned.txt", "%u %g"), Is.EqualTo("65534 65534"));
        }

        // dump as tar: the later names are hard links to the first, the fifo and device are tar entries; no socket.
        var tar = temp.Combine("all.tar");
        var dump = await coffer.RunAsync("at", store, "dump", "latest", "--archive", "tar", "-o", tar);
        Assert.That(dump.ExitCode, Is.Zero, dump.ToString());
        var entries = new Dictionary<string, TarEntry>(StringComparer.Ordinal);
        await using (var reader = new TarReader(File.OpenRead(tar)))
        {
            while (await reader.GetNextEntryAsync() is { } entry)
            {
                entries[entry.Name] = entry;
            }
        }

        Assert.That(entries["a.txt"].EntryType, Is.EqualTo(TarEntryType.RegularFile));
        Assert.That((entries["b.txt"].EntryType, entries["b.txt"].LinkName), Is.EqualTo((TarEntryType.HardLink, "a.txt")));
        Assert.That((entries["sub/c.txt"].EntryType, entries["sub/c.txt"].LinkName), Is.EqualTo((TarEntryType.HardLink, "a.txt")));
        Assert.That(entries["pipe"].EntryType, Is.EqualTo(TarEntryType.Fifo));
        Assert.That(entries.Keys, Has.None.EqualTo("sock"));
        if (root)
        {
            var device = (PosixTarEntry)entries["null"];
            Assert.That((device.EntryType, device.DeviceMajor, device.DeviceMinor), Is.EqualTo((TarEntryType.CharacterDevice, 1, 3)));
            Assert.That(((PosixTarEntry)entries["owned.txt"]).UserName, Is.EqualTo("nobody"));
        }
    }

    private static string Stat(string root, string path, string format)
    {
        var info = new ProcessStartInfo("stat", ["-c", format, Path.Combine(root, path)]) { RedirectStandardOutput = true };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Trim();
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new IOException($"{call} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    private static unsafe void SetXattr(string path, string name, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        fixed (byte* p = bytes)
        {
            Check(lsetxattr(path, name, p, bytes.Length, 0), "lsetxattr");
        }
    }

    private static unsafe string? GetXattr(string path, string name)
    {
        var buffer = new byte[4096];
        fixed (byte* p = buffer)
        {
            var length = lgetxattr(path, name, p, buffer.Length);
            return length < 0 ? null : Encoding.UTF8.GetString(buffer, 0, (int)length);
        }
    }

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string existing, string added);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mknod(string path, uint mode, ulong device);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, uint owner, uint group);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int lsetxattr(string path, string name, byte* value, nint size, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial nint lgetxattr(string path, string name, byte* value, nint size);
}
