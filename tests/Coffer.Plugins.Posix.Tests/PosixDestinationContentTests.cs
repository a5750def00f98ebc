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
}
