using Coffer.Abstractions;
using Coffer.TestSupport;

namespace Coffer.Plugins.Posix.Tests;

/// <summary>What the fs source and destination do on disk, beyond the conformance suite.</summary>
public class PosixTreeTests
{
    private TemporaryDirectory _sandbox = null!;

    private string Root => _sandbox.Combine("root");

    [SetUp]
    public void SetUp()
    {
        _sandbox = new TemporaryDirectory("posix-tree");
        Directory.CreateDirectory(Root);
    }

    [TearDown]
    public void TearDown() => _sandbox.Dispose();

    private string InRoot(string relative) => Path.Combine(Root, relative);

    private async Task<List<TreeEntry>> ScanAsync()
    {
        await using var source = await PosixPluginHost.Catalog.CreateSourceAsync(new ConnectorConfiguration(Root));
        return source.ScanAsync().ToBlockingEnumerable().ToList();
    }

    private ValueTask<IDestinationConnector> DestinationAsync() =>
        PosixPluginHost.Catalog.CreateDestinationAsync(new ConnectorConfiguration(Root));

    [Test]
    public async Task Siblings_come_in_ordinal_order_dot_files_included()
    {
        foreach (var name in new[] { "b", "B", "a", "_x", "Z1", "é", ".hidden" })
        {
            await File.WriteAllTextAsync(InRoot(name), name);
        }

        var paths = (await ScanAsync()).Select(e => e.Path).ToList();

        Assert.That(paths, Is.EqualTo(new[] { "", ".hidden", "B", "Z1", "_x", "a", "b", "é" }), "dot files included");
    }

    [Test]
    public async Task Walking_a_directory_allocates_far_less_than_a_listing_buffer_per_directory()
    {
        // Every byte a backup allocates stays in its peak RSS (the GC rarely runs in a run that short): the walk
        // once took a fresh 32 KiB getdents buffer per directory, 23 MiB of a backup of the SDK tree.
        const int directories = 300;
        for (var i = 0; i < directories; i++)
        {
            Directory.CreateDirectory(InRoot($"d{i:D3}"));
        }

        await using var source = await PosixPluginHost.Catalog.CreateSourceAsync(new ConnectorConfiguration(Root));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var count = source.ScanAsync().ToBlockingEnumerable().Count();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(count, Is.EqualTo(directories + 1));
        Assert.That(allocated, Is.LessThan(directories * 8 * 1024), "bytes allocated by the walk: a few hundred per directory, not a 32 KiB buffer each");
    }

    [Test]
    public async Task Symlinks_are_reported_and_never_followed()
    {
        Directory.CreateDirectory(InRoot("real"));
        await File.WriteAllTextAsync(InRoot("real/inside.txt"), "x");
        File.CreateSymbolicLink(InRoot("link"), "real");
        File.CreateSymbolicLink(InRoot("out"), _sandbox.Path);

        var entries = await ScanAsync();

        Assert.That(entries.Select(e => e.Path), Is.EqualTo(new[] { "", "link", "out", "real", "real/inside.txt" }));
        Assert.That(entries.Single(e => e.Path == "link"), Has.Property(nameof(TreeEntry.Kind)).EqualTo(EntryKind.Symlink).And.Property(nameof(TreeEntry.SymlinkTarget)).EqualTo("real"));
        Assert.That(entries.Single(e => e.Path == "out").SymlinkTarget, Is.EqualTo(_sandbox.Path));
    }

    [Test]
    public async Task A_source_rooted_at_a_link_walks_the_tree_the_link_points_to()
    {
        await File.WriteAllTextAsync(InRoot("inside.txt"), "x");
        var alias = _sandbox.Combine("alias");
        File.CreateSymbolicLink(alias, Root);
        await using var source = await PosixPluginHost.Catalog.CreateSourceAsync(new ConnectorConfiguration(alias));

        var entries = source.ScanAsync().ToBlockingEnumerable().ToList();

        Assert.That(entries.Select(e => (e.Path, e.Kind)), Is.EqualTo(new[] { ("", EntryKind.Directory), ("inside.txt", EntryKind.File) }));
    }

    [Test]
    public async Task Entries_carry_owner_and_a_file_id_that_hard_links_share()
    {
        await File.WriteAllTextAsync(InRoot("a"), "same");
        File.Copy(InRoot("a"), InRoot("copy"));
        Unix.HardLink(InRoot("a"), InRoot("hard"));

        var entries = (await ScanAsync()).ToDictionary(e => e.Path);

        Assert.That(entries["hard"].FileId, Is.EqualTo(entries["a"].FileId));
        Assert.That(entries["copy"].FileId, Is.Not.EqualTo(entries["a"].FileId));
        Assert.That(entries["a"].FileId, Does.Match(@"^\d+:\d+:\d+$"), "dev major:minor:inode");
        var status = new FileInfo(InRoot("a"));
        Assert.That(entries["a"].Mode, Is.EqualTo(status.UnixFileMode));
        Assert.That(entries["a"].UserId, Is.EqualTo(Unix.EffectiveUserId));
        Assert.That(entries["a"].GroupId, Is.Not.Null);
        Assert.That(entries["a"].Size, Is.EqualTo(4));
        Assert.That(entries["a"].ModifiedTime, Is.EqualTo(new DateTimeOffset(status.LastWriteTimeUtc)));
    }

    [Test]
    public async Task Unreadable_entries_are_reported_with_an_error_and_the_walk_goes_on()
    {
        await File.WriteAllTextAsync(InRoot("a-public.txt"), "anyone");
        await File.WriteAllTextAsync(InRoot("b-secret.txt"), "root only");
        File.SetUnixFileMode(InRoot("b-secret.txt"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.CreateDirectory(InRoot("c-locked"));
        await File.WriteAllTextAsync(InRoot("c-locked/hidden.txt"), "x");
        File.SetUnixFileMode(InRoot("c-locked"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await File.WriteAllTextAsync(InRoot("d-after.txt"), "still walked");
        await using var source = await PosixPluginHost.Catalog.CreateSourceAsync(new ConnectorConfiguration(Root));

        var entries = Unix.AsUnprivileged(() => source.ScanAsync().ToBlockingEnumerable().ToList());

        Assert.That(entries.Select(e => e.Path), Is.EqualTo(new[] { "", "a-public.txt", "b-secret.txt", "c-locked", "d-after.txt" }));
        var byPath = entries.ToDictionary(e => e.Path);
        Assert.That(byPath["b-secret.txt"].Error, Does.Contain("b-secret.txt").And.Not.Contain("\n"));
        Assert.That(byPath["c-locked"].Error, Does.Contain("c-locked").And.Not.Contain("\n"));
        Assert.That(byPath["c-locked"].Kind, Is.EqualTo(EntryKind.Directory));
        Assert.That(new[] { "", "a-public.txt", "d-after.txt" }.Select(p => byPath[p].Error), Is.All.Null);
    }

    [Test]
    public async Task A_fifo_and_hard_links_are_reported_with_their_kind_and_link_count_and_the_destination_sets_owners_by_name_first()
    {
        Unix.MakeFifo(InRoot("pipe"));
        await File.WriteAllTextAsync(InRoot("one"), "x");
        Unix.HardLink(InRoot("one"), InRoot("two"));

        var byPath = (await ScanAsync()).ToDictionary(e => e.Path);

        Assert.That((byPath["pipe"].Kind, byPath["pipe"].Error), Is.EqualTo((EntryKind.Fifo, (string?)null)));
        Assert.That((byPath["one"].LinkCount, byPath["two"].LinkCount), Is.EqualTo(((long?)2, (long?)2)));
        Assert.That(byPath["one"].FileId, Is.EqualTo(byPath["two"].FileId));
        Assert.That(byPath["one"].UserName, Is.Not.Null);

        if (Unix.EffectiveUserId == 0)
        {
            // A name that exists here wins over the number; without a name (--numeric-owner) the number is used.
            await using var destination = await DestinationAsync();
            var file = new TreeEntry("owned-by-name", EntryKind.File) { UserId = 12345, GroupId = 12345, UserName = "nobody", GroupName = "nogroup" };
            await destination.WriteFileAsync(file, new MemoryStream([1]));
            await destination.WriteFileAsync(file with { Path = "owned-by-number", UserName = null, GroupName = null }, new MemoryStream([1]));
            Assert.That(((long?)Unix.OwnerOf(InRoot("owned-by-name")), (long?)Unix.OwnerOf(InRoot("owned-by-number"))), Is.EqualTo(((long?)65534, (long?)12345)));
        }
    }

    [Test]
    public async Task The_destination_refuses_to_write_through_a_symlink_found_on_disk()
    {
        var outside = _sandbox.Combine("outside");
        Directory.CreateDirectory(outside);
        Directory.CreateDirectory(InRoot("a"));
        File.CreateSymbolicLink(InRoot("a/evil"), outside);
        File.CreateSymbolicLink(InRoot("inward"), "a");
        await using var destination = await DestinationAsync();
        var file = new TreeEntry("a/evil/x.txt", EntryKind.File) { Size = 1 };

        Assert.ThrowsAsync<PathEscapesRootException>(() => destination.WriteFileAsync(file, new MemoryStream([1])));
        Assert.ThrowsAsync<PathEscapesRootException>(() => destination.CreateDirectoryAsync(new TreeEntry("a/evil/d", EntryKind.Directory)));
        Assert.ThrowsAsync<PathEscapesRootException>(() => destination.WriteFileAsync(file with { Path = "inward/y.txt" }, new MemoryStream([1])), "even a link pointing inside is never written through");

        Assert.That(Directory.GetFileSystemEntries(outside), Is.Empty);
        Assert.That(File.Exists(InRoot("a/y.txt")), Is.False);
    }

    [Test]
    public async Task A_destination_rooted_at_a_link_restores_into_its_target_and_keeps_the_link()
    {
        var alias = _sandbox.Combine("alias");
        File.CreateSymbolicLink(alias, Root);
        await using (var destination = await PosixPluginHost.Catalog.CreateDestinationAsync(new ConnectorConfiguration(alias)))
        {
            var root = new TreeEntry("", EntryKind.Directory) { ModifiedTime = DateTimeOffset.UnixEpoch.AddDays(3) };
            await destination.CreateDirectoryAsync(root);
            await destination.WriteFileAsync(new TreeEntry("f", EntryKind.File) { Size = 1 }, new MemoryStream([9]));
            await destination.FinishDirectoryAsync(root);
        }

        Assert.That(new FileInfo(alias).LinkTarget, Is.EqualTo(Root), "the link is still a link");
        Assert.That(await File.ReadAllBytesAsync(InRoot("f")), Is.EqualTo(new byte[] { 9 }));
        Assert.That(Directory.GetLastWriteTimeUtc(Root), Is.EqualTo(DateTimeOffset.UnixEpoch.AddDays(3).UtcDateTime));
    }

    [Test]
    public async Task Writing_a_file_over_a_symlink_replaces_the_link_and_leaves_its_target_alone()
    {
        var target = _sandbox.Combine("target.txt");
        await File.WriteAllTextAsync(target, "keep me");
        File.CreateSymbolicLink(InRoot("f"), target);
        await using var destination = await DestinationAsync();

        await destination.WriteFileAsync(new TreeEntry("f", EntryKind.File) { Size = 3, ModifiedTime = DateTimeOffset.UnixEpoch.AddDays(1) }, new MemoryStream([1, 2, 3]));

        Assert.That(new FileInfo(InRoot("f")).LinkTarget, Is.Null);
        Assert.That(await File.ReadAllBytesAsync(InRoot("f")), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(await File.ReadAllTextAsync(target), Is.EqualTo("keep me"));
    }

    [Test]
    public async Task A_new_file_is_written_in_place_with_its_mode_and_mtime_and_no_temp_file()
    {
        var mtime = DateTimeOffset.UnixEpoch.AddDays(5).AddTicks(1234500);
        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserExecute;
        var content = Enumerable.Range(0, (3 * 1024 * 1024) + 17).Select(i => (byte)(i * 7)).ToArray();
        await using (var destination = await DestinationAsync())
        {
            await destination.WriteFileAsync(new TreeEntry("d/new.bin", EntryKind.File) { Size = content.Length, Mode = mode, ModifiedTime = mtime }, new MemoryStream(content));
        }

        Assert.That(await File.ReadAllBytesAsync(InRoot("d/new.bin")), SameBytes.As(content));
        Assert.That(File.GetUnixFileMode(InRoot("d/new.bin")), Is.EqualTo(mode));
        Assert.That(File.GetLastWriteTimeUtc(InRoot("d/new.bin")), Is.EqualTo(mtime.UtcDateTime));
        Assert.That(Directory.GetFileSystemEntries(InRoot("d")), Is.EqualTo(new[] { InRoot("d/new.bin") }), "no temp file beside it");
    }

    [Test]
    public async Task A_new_file_whose_content_fails_part_way_is_removed()
    {
        await using var destination = await DestinationAsync();

        Assert.ThrowsAsync<IOException>(() => destination.WriteFileAsync(new TreeEntry("f", EntryKind.File) { Size = 100 }, new Conformance.Support.FailingStream(new MemoryStream(new byte[100]), 10)));

        Assert.That(Directory.GetFileSystemEntries(Root), Is.Empty);
    }

    [Test]
    public async Task An_existing_file_whose_new_content_fails_part_way_keeps_its_old_content()
    {
        await File.WriteAllTextAsync(InRoot("f"), "old");
        await using var destination = await DestinationAsync();

        Assert.ThrowsAsync<IOException>(() => destination.WriteFileAsync(new TreeEntry("f", EntryKind.File) { Size = 100 }, new Conformance.Support.FailingStream(new MemoryStream(new byte[100]), 10)));

        Assert.That(await File.ReadAllTextAsync(InRoot("f")), Is.EqualTo("old"));
        Assert.That(Directory.GetFileSystemEntries(Root), Is.EqualTo(new[] { InRoot("f") }), "no temp file left");
    }

    [Test]
    public async Task Setuid_setgid_and_sticky_bits_are_restored()
    {
        const UnixFileMode special = UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        const UnixFileMode sticky = UnixFileMode.StickyBit | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        await using (var destination = await DestinationAsync())
        {
            await destination.CreateDirectoryAsync(new TreeEntry("shared", EntryKind.Directory));
            await destination.WriteFileAsync(new TreeEntry("tool", EntryKind.File) { Mode = special }, new MemoryStream([]));
            await destination.FinishDirectoryAsync(new TreeEntry("shared", EntryKind.Directory) { Mode = sticky });
        }

        var entries = (await ScanAsync()).ToDictionary(e => e.Path);

        Assert.That(entries["tool"].Mode, Is.EqualTo(special));
        Assert.That(entries["shared"].Mode, Is.EqualTo(sticky));
    }
}
