using Coffer.Abstractions;
using Coffer.Conformance.Support;
using NUnit.Framework;

namespace Coffer.Conformance;

/// <summary>
/// The behaviour every source and destination pair is held to: a tree written through the destination
/// reads back identically through the source, and a destination never writes outside its root.
/// A connector's test project inherits it, supplies a fresh location per test, and declares what its
/// backend can represent; what it cannot represent is left out of the comparison, never faked.
/// </summary>
public abstract class SourceDestinationConformanceTests
{
    private const int BigFileSize = 64 * 1024 * 1024;

    // Far from now and with sub-second parts, so a connector that ignores or truncates mtimes is caught.
    private static readonly DateTimeOffset BaseTime = new(2021, 3, 4, 5, 6, 7, 123, TimeSpan.Zero);

    /// <summary>The context every connector of the current test is created with.</summary>
    protected ConnectorContext Context { get; private set; } = ConnectorContext.Default;

    /// <summary>The backend stores symbolic links and reads them back as links.</summary>
    protected virtual bool SupportsSymlinks => true;

    /// <summary>The backend keeps a directory with nothing in it.</summary>
    protected virtual bool SupportsEmptyDirectories => true;

    /// <summary>The backend keeps Unix permission bits.</summary>
    protected virtual bool SupportsModes => true;

    /// <summary>The backend keeps directory mtimes (flat backends have no directories to date).</summary>
    protected virtual bool SupportsDirectoryMtimes => true;

    /// <summary>How far a read-back mtime may be from the one written.</summary>
    protected virtual TimeSpan MtimePrecision => TimeSpan.FromSeconds(1);

    /// <summary>
    /// Metadata the backend carries through (e.g. <c>xattr.user.x</c>); written on every file and
    /// directory and expected back on each. Empty when the backend keeps none.
    /// </summary>
    protected virtual IReadOnlyDictionary<string, string> SampleMetadata { get; } = new Dictionary<string, string>();

    /// <summary>Makes a fresh, empty root for the current test, with room beside it to detect escapes.</summary>
    protected abstract Task CreateBackendAsync();

    /// <summary>Removes the current test's root and what is beside it.</summary>
    protected abstract Task DeleteBackendAsync();

    /// <summary>Creates a destination on the current test's root, the way the host does.</summary>
    protected abstract Task<IDestinationConnector> CreateDestinationAsync(ConnectorContext context);

    /// <summary>Creates a source on the current test's root, the way the host does.</summary>
    protected abstract Task<ISourceConnector> CreateSourceAsync(ConnectorContext context);

    /// <summary>
    /// Everything that exists beside the root (in its parent directory, or outside its prefix), recursively,
    /// as paths relative to that parent: an escape shows up here.
    /// </summary>
    protected abstract Task<IReadOnlyList<string>> ListOutsideRootAsync();

    [SetUp]
    public async Task SetUpTreeBackendAsync()
    {
        Context = new ConnectorContext { Time = new ManualClock() };
        await CreateBackendAsync();
    }

    [TearDown]
    public async Task TearDownTreeBackendAsync() => await DeleteBackendAsync();

    /// <summary>One entry of the test tree, with the seed of its content.</summary>
    protected sealed record TreeSpec(TreeEntry Entry, ulong Seed);

    /// <summary>The test tree, root first, each directory before its contents.</summary>
    protected IReadOnlyList<TreeSpec> TestTree()
    {
        var index = 0;
        var specs = new List<TreeSpec>();
        var metadata = SampleMetadata;

        void Add(string path, EntryKind kind, UnixFileMode mode, long size = 0, string? target = null)
        {
            index++;
            var entry = new TreeEntry(path, kind)
            {
                Size = size,
                Mode = mode,
                ModifiedTime = BaseTime.AddMinutes(index).AddTicks(index * 1111),
                SymlinkTarget = target,
                Metadata = kind is EntryKind.File or EntryKind.Directory ? metadata : new Dictionary<string, string>(),
            };
            specs.Add(new TreeSpec(entry, (ulong)index));
        }

        const UnixFileMode rw = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        const UnixFileMode rwx = rw | UnixFileMode.UserExecute;
        const UnixFileMode gr = UnixFileMode.GroupRead;
        const UnixFileMode grx = gr | UnixFileMode.GroupExecute;
        const UnixFileMode or = UnixFileMode.OtherRead;
        const UnixFileMode orx = or | UnixFileMode.OtherExecute;

        Add("", EntryKind.Directory, rwx | grx | orx);
        Add("big.bin", EntryKind.File, rw | gr | or, BigFileSize);
        Add("dir", EntryKind.Directory, rwx | grx);
        Add("dir/nested", EntryKind.Directory, rwx | grx | orx);
        Add("dir/nested/deep", EntryKind.Directory, rwx);
        Add("dir/nested/deep/file.txt", EntryKind.File, rw | gr, 4097);
        Add("dir/nested/sibling.txt", EntryKind.File, rw, 12);
        if (SupportsSymlinks)
        {
            Add("dir/up-link", EntryKind.Symlink, rwx | grx | orx, target: "../run.sh");
        }

        Add("empty.txt", EntryKind.File, rw | gr | or, 0);
        if (SupportsEmptyDirectories)
        {
            Add("empty dir", EntryKind.Directory, rwx | grx | orx);
        }

        if (SupportsSymlinks)
        {
            Add("dangling", EntryKind.Symlink, rwx | grx | orx, target: "nowhere/missing file");
            Add("link-to-one", EntryKind.Symlink, rwx | grx | orx, target: "one.bin");
        }

        Add("one.bin", EntryKind.File, rw, 1);
        Add("run.sh", EntryKind.File, rwx | grx | orx, 100);
        Add("with space.txt", EntryKind.File, rw | gr | or, 300);
        Add("été ☕", EntryKind.Directory, rwx | grx | orx);
        Add("été ☕/naïve – file.txt", EntryKind.File, rw | gr | or, 2000);
        return specs;
    }

    /// <summary>Writes a tree through a destination in the order a restore does: directories finished last, deepest first.</summary>
    protected static async Task RestoreAsync(IDestinationConnector destination, IReadOnlyList<TreeSpec> tree)
    {
        foreach (var (entry, seed) in tree)
        {
            switch (entry.Kind)
            {
                case EntryKind.Directory:
                    await destination.CreateDirectoryAsync(entry);
                    break;
                case EntryKind.File:
                    await using (var content = new PseudoRandomStream(entry.Size, seed))
                    {
                        await destination.WriteFileAsync(entry, content);
                    }

                    break;
                case EntryKind.Symlink:
                    await destination.CreateSymlinkAsync(entry);
                    break;
            }
        }

        foreach (var (entry, _) in tree.Where(s => s.Entry.Kind == EntryKind.Directory).Reverse())
        {
            await destination.FinishDirectoryAsync(entry);
        }
    }

    /// <summary>Every entry a source yields, in its order.</summary>
    protected static async Task<List<TreeEntry>> ScanAsync(ISourceConnector source)
    {
        var entries = new List<TreeEntry>();
        await foreach (var entry in source.ScanAsync())
        {
            entries.Add(entry);
        }

        return entries;
    }

    private static TreeEntry Entry(string path, EntryKind kind) => new(path, kind)
    {
        Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
        ModifiedTime = BaseTime,
    };

    [Test]
    public async Task A_tree_written_through_the_destination_reads_back_identically()
    {
        var tree = TestTree();
        await using (var destination = await CreateDestinationAsync(Context))
        {
            await RestoreAsync(destination, tree);
        }

        await using var source = await CreateSourceAsync(Context);
        var scanned = await ScanAsync(source);
        var byPath = scanned.ToDictionary(e => e.Path, StringComparer.Ordinal);

        Assert.That(scanned.Where(e => e.Error is not null).Select(e => $"{e.Path}: {e.Error}"), Is.Empty, "no entry reports an error");
        Assert.That(byPath.Keys, Is.EquivalentTo(tree.Select(s => s.Entry.Path)), "the same paths, no more, no fewer");
        foreach (var (expected, seed) in tree)
        {
            var actual = byPath[expected.Path];
            var what = $"'{expected.Path}'";
            Assert.That(actual.Kind, Is.EqualTo(expected.Kind), $"kind of {what}");
            switch (expected.Kind)
            {
                case EntryKind.File:
                    Assert.That(actual.Size, Is.EqualTo(expected.Size), $"size of {what}");
                    await using (var content = await source.OpenReadAsync(expected.Path))
                    {
                        Assert.That(await StreamHash.Sha256Async(content), Is.EqualTo(await PseudoRandomStream.Sha256Async(expected.Size, seed)), $"content of {what}");
                    }

                    break;
                case EntryKind.Symlink:
                    Assert.That(actual.SymlinkTarget, Is.EqualTo(expected.SymlinkTarget), $"target of {what}");
                    break;
            }

            foreach (var (key, value) in expected.Metadata)
            {
                Assert.That(actual.Metadata, Does.ContainKey(key).WithValue(value), $"metadata of {what}");
            }

            if (expected.Kind != EntryKind.Directory || SupportsDirectoryMtimes)
            {
                Assert.That(actual.ModifiedTime, Is.EqualTo(expected.ModifiedTime).Within(MtimePrecision), $"mtime of {what}");
            }

            // Links have no permission bits of their own on most systems.
            if (SupportsModes && expected.Kind != EntryKind.Symlink)
            {
                Assert.That(actual.Mode, Is.EqualTo(expected.Mode), $"mode of {what}");
            }
        }

        Assert.That(await ListOutsideRootAsync(), Is.Empty, "nothing was written beside the root");
    }

    [Test]
    public async Task Scan_yields_the_root_first_each_directory_before_its_contents_and_the_same_order_twice()
    {
        await using (var destination = await CreateDestinationAsync(Context))
        {
            await RestoreAsync(destination, TestTree().Where(s => s.Entry.Size < BigFileSize).ToList());
        }

        await using var source = await CreateSourceAsync(Context);
        var first = (await ScanAsync(source)).Select(e => e.Path).ToList();
        var second = (await ScanAsync(source)).Select(e => e.Path).ToList();

        Assert.That(first, Is.Not.Empty);
        Assert.That(first[0], Is.EqualTo(""), "the root comes first");
        for (var i = 1; i < first.Count; i++)
        {
            var slash = first[i].LastIndexOf('/');
            var parent = slash < 0 ? "" : first[i][..slash];
            Assert.That(first.IndexOf(parent), Is.InRange(0, i - 1), $"'{parent}' comes before '{first[i]}'");
        }

        Assert.That(second, Is.EqualTo(first), "the walk is deterministic");
    }

    [Test]
    public async Task Writing_a_file_replaces_the_one_there()
    {
        await using (var destination = await CreateDestinationAsync(Context))
        {
            await destination.CreateDirectoryAsync(Entry("", EntryKind.Directory));
            await using (var first = new PseudoRandomStream(5000, 1))
            {
                await destination.WriteFileAsync(Entry("f.bin", EntryKind.File) with { Size = 5000 }, first);
            }

            await using var second = new PseudoRandomStream(10, 2);
            await destination.WriteFileAsync(Entry("f.bin", EntryKind.File) with { Size = 10 }, second);
        }

        await using var source = await CreateSourceAsync(Context);
        var entry = (await ScanAsync(source)).Single(e => e.Path == "f.bin");
        Assert.That(entry.Size, Is.EqualTo(10));
        await using var content = await source.OpenReadAsync("f.bin");
        Assert.That(await StreamHash.Sha256Async(content), Is.EqualTo(await PseudoRandomStream.Sha256Async(10, 2)));
    }

    [Test]
    public async Task Source_open_of_a_missing_file_is_not_found()
    {
        await using var source = await CreateSourceAsync(Context);

        Assert.ThrowsAsync<NotFoundException>(() => source.OpenReadAsync("no such file"));
    }

    [Test]
    public async Task Source_open_refuses_paths_that_escape_the_root([Values("../x", "/etc/hostname", "a/../../x")] string path)
    {
        await using var source = await CreateSourceAsync(Context);

        Assert.ThrowsAsync<PathEscapesRootException>(() => source.OpenReadAsync(path));
    }

    /// <summary>What a destination is asked to write in the escape tests.</summary>
    public enum WriteKind
    {
        /// <summary><see cref="IDestinationConnector.WriteFileAsync"/>.</summary>
        File,

        /// <summary><see cref="IDestinationConnector.CreateDirectoryAsync"/>.</summary>
        Directory,

        /// <summary><see cref="IDestinationConnector.CreateSymlinkAsync"/>.</summary>
        Symlink,

        /// <summary><see cref="IDestinationConnector.FinishDirectoryAsync"/>.</summary>
        FinishDirectory,
    }

    private static Task WriteAsync(IDestinationConnector destination, WriteKind kind, string path) => kind switch
    {
        WriteKind.File => destination.WriteFileAsync(Entry(path, EntryKind.File) with { Size = 3 }, new MemoryStream([1, 2, 3])),
        WriteKind.Directory => destination.CreateDirectoryAsync(Entry(path, EntryKind.Directory)),
        WriteKind.Symlink => destination.CreateSymlinkAsync(Entry(path, EntryKind.Symlink) with { SymlinkTarget = "target" }),
        _ => destination.FinishDirectoryAsync(Entry(path, EntryKind.Directory)),
    };

    [Test]
    public async Task A_destination_refuses_paths_that_escape_its_root(
        [Values("../escaped", "..", "a/../../escaped", "a/b/../../../escaped")] string path,
        [Values] WriteKind kind)
    {
        await using var destination = await CreateDestinationAsync(Context);
        await destination.CreateDirectoryAsync(Entry("a", EntryKind.Directory));
        await destination.CreateDirectoryAsync(Entry("a/b", EntryKind.Directory));

        Assert.ThrowsAsync<PathEscapesRootException>(() => WriteAsync(destination, kind, path));

        Assert.That(await ListOutsideRootAsync(), Is.Empty, "nothing was written beside the root");
    }

    [Test]
    public async Task A_destination_refuses_absolute_paths([Values] WriteKind kind)
    {
        var outside = Path.Combine(Path.GetTempPath(), $"coffer-escape-{Guid.NewGuid():N}");
        await using var destination = await CreateDestinationAsync(Context);

        Assert.ThrowsAsync<PathEscapesRootException>(() => WriteAsync(destination, kind, outside));

        Assert.That(Path.Exists(outside), Is.False, $"nothing was written at {outside}");
        Assert.That(await ListOutsideRootAsync(), Is.Empty, "nothing was written beside the root");
    }

    [Test]
    public async Task Writing_through_a_link_that_points_outside_never_lands_outside_the_root([Values] WriteKind kind)
    {
        await using var destination = await CreateDestinationAsync(Context);
        await destination.CreateDirectoryAsync(Entry("", EntryKind.Directory));
        var linked = true;
        try
        {
            await destination.CreateSymlinkAsync(Entry("link", EntryKind.Symlink) with { SymlinkTarget = ".." });
        }
        catch (NotSupportedException)
        {
            linked = false;
        }

        Task Attempt() => WriteAsync(destination, kind, $"link/escaped-{kind}");
        if (SupportsSymlinks && linked)
        {
            Assert.ThrowsAsync<PathEscapesRootException>(Attempt);
        }
        else
        {
            // A backend without links may store the "link" as something else; it must still stay inside.
            try
            {
                await Attempt();
            }
            catch (PathEscapesRootException)
            {
            }
        }

        Assert.That(await ListOutsideRootAsync(), Is.Empty, "nothing was written beside the root");
    }
}
