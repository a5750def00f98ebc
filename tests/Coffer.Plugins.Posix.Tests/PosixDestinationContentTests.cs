using Coffer.Abstractions;
using Coffer.TestSupport;

namespace Coffer.Plugins.Posix.Tests;

/// <summary>The directory destination's side of restore's options: reading back, deleting, interrupted writes.</summary>
public class PosixDestinationContentTests
{
    /// <summary>A stream that gives some bytes, then waits until it is cancelled: a restore interrupted mid-file.</summary>
    private sealed class StallingStream(int before) : Stream
    {
        private int _left = before;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left == 0)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            var count = Math.Min(_left, buffer.Length);
            buffer.Span[..count].Fill(7);
            _left -= count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Test]
    public async Task Delete_removes_links_not_their_targets_never_leaves_the_root_and_an_interrupted_write_leaves_the_old_file()
    {
        using var sandbox = new TemporaryDirectory("posix-content");
        var root = sandbox.Combine("root");
        var outside = sandbox.Combine("outside");
        Directory.CreateDirectory(Path.Combine(root, "dir"));
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "precious"), "keep");
        File.WriteAllText(Path.Combine(root, "dir", "old.txt"), "old content");
        File.CreateSymbolicLink(Path.Combine(root, "to-outside"), outside);

        await using var destination = await PosixPluginHost.Catalog.CreateDestinationAsync(new ConnectorConfiguration(root));
        var content = (IDestinationContent)destination;
        var entries = content.ScanContentAsync().ToBlockingEnumerable().ToList();
        Assert.That(entries.Select(e => e.Path), Is.EqualTo(new[] { "", "dir", "dir/old.txt", "to-outside" }));

        // Ctrl-C in the middle of replacing a file: the old one stays whole, no temp file is left.
        using (var cancel = new CancellationTokenSource())
        {
            var write = destination.WriteFileAsync(new TreeEntry("dir/old.txt", EntryKind.File) { Size = 3 << 20 }, new StallingStream(1 << 20), cancel.Token);
            await Task.Delay(100);
            await cancel.CancelAsync();
            Assert.That(async () => await write, Throws.InstanceOf<OperationCanceledException>());
        }

        Assert.That(Directory.GetFiles(Path.Combine(root, "dir")), Is.EqualTo(new[] { Path.Combine(root, "dir", "old.txt") }));
        Assert.That(File.ReadAllText(Path.Combine(root, "dir", "old.txt")), Is.EqualTo("old content"));
        await using (var read = await content.OpenReadAsync("dir/old.txt"))
        {
            Assert.That(new StreamReader(read).ReadToEnd(), Is.EqualTo("old content"));
        }

        Assert.That(async () => await content.DeleteAsync(new TreeEntry("to-outside/precious", EntryKind.File)), Throws.InstanceOf<PathEscapesRootException>());
        Assert.That(async () => await content.DeleteAsync(new TreeEntry("../outside/precious", EntryKind.File)), Throws.InstanceOf<PathEscapesRootException>());
        foreach (var entry in entries.Where(e => e.Path.Length > 0).OrderByDescending(e => e.Path, StringComparer.Ordinal))
        {
            await content.DeleteAsync(entry);
        }

        await content.DeleteAsync(new TreeEntry("dir/gone/already", EntryKind.File)); // nothing there: fine
        Assert.That(Directory.GetFileSystemEntries(root), Is.Empty);
        Assert.That(File.ReadAllText(Path.Combine(outside, "precious")), Is.EqualTo("keep"));
        Assert.That(async () => await content.DeleteAsync(new TreeEntry("", EntryKind.Directory)), Throws.ArgumentException);
    }

    [Test]
    public async Task Files_go_through_cached_directories_whose_descriptors_close_when_finished_and_a_directory_in_the_way_leaves_nothing()
    {
        using var sandbox = new TemporaryDirectory("posix-handles");
        var root = sandbox.Combine("root");
        Directory.CreateDirectory(root);
        var mtime = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var tail = new byte[8192];
        tail.AsSpan(0, 4096).Fill(9);

        await using var destination = await PosixPluginHost.Catalog.CreateDestinationAsync(new ConnectorConfiguration(root));
        await destination.CreateDirectoryAsync(new TreeEntry("a", EntryKind.Directory));
        await destination.CreateDirectoryAsync(new TreeEntry("a/b", EntryKind.Directory));
        await destination.WriteFileAsync(new TreeEntry("a/b/f", EntryKind.File) { Size = 5, Mode = (UnixFileMode)0x1A0, ModifiedTime = mtime }, new MemoryStream("hello"u8.ToArray()));
        await destination.WriteFileAsync(new TreeEntry("a/b/g", EntryKind.File) { Size = tail.Length, ModifiedTime = mtime }, new MemoryStream(tail));
        Directory.CreateDirectory(Path.Combine(root, "a", "b", "d"));
        Assert.That(async () => await destination.WriteFileAsync(new TreeEntry("a/b/d", EntryKind.File) { Size = 1 }, new MemoryStream([1])),
            Throws.InstanceOf<IOException>().With.Message.Contains("a directory is in the way"));

        // Mode, mtime and content set through the file's descriptor; a trailing hole still gives the full length.
        var f = Path.Combine(root, "a", "b", "f");
        Assert.That(File.ReadAllText(f), Is.EqualTo("hello"));
        Assert.That(File.GetUnixFileMode(f), Is.EqualTo((UnixFileMode)0x1A0));
        Assert.That(new DateTimeOffset(File.GetLastWriteTimeUtc(f)), Is.EqualTo(mtime));
        Assert.That(File.ReadAllBytes(Path.Combine(root, "a", "b", "g")), Is.EqualTo(tail));
        Assert.That(Directory.GetFileSystemEntries(Path.Combine(root, "a", "b")).Select(Path.GetFileName), Is.EquivalentTo(new[] { "d", "f", "g" }), "no temp file left");

        Assert.That(DescriptorsUnder(root), Is.Not.Empty, "the directories written into stay open while they are in use");
        foreach (var finished in new[] { "a/b", "a", "" })
        {
            await destination.FinishDirectoryAsync(new TreeEntry(finished, EntryKind.Directory) { ModifiedTime = mtime });
        }

        Assert.That(DescriptorsUnder(root), Is.Empty, "a finished directory's descriptor is closed");
    }

    // This process's open descriptors on paths at or below root.
    private static List<string> DescriptorsUnder(string root) =>
        [.. new DirectoryInfo("/proc/self/fd").GetFileSystemInfos().Select(fd => fd.LinkTarget ?? "").Where(target => target == root || target.StartsWith(root + "/", StringComparison.Ordinal))];
}
