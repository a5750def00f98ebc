using System.Text.RegularExpressions;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

/// <summary>backup's selection flags as a user types them (restic's): excludes, tag files, size limit, --one-file-system, file lists, --stdin, --host, --time, --dry-run.</summary>
public class BackupSelectionTests
{
    private const string CacheSignature = "Signature: 8a477f597d28d172789f06886806bc55";

    private static void Write(string root, string relative, string content)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    /// <summary>The paths <c>ls -r</c> shows for a snapshot, below its root.</summary>
    private static async Task<string[]> PathsAsync(CofferProcess coffer, string store, string snapshot)
    {
        var ls = await coffer.RunAsync("at", store, "ls", snapshot, "-r");
        Assert.That(ls.ExitCode, Is.Zero, ls.ToString());
        return ls.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => Regex.Match(line, @"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (.+)$").Groups[1].Value)
            .Where(path => path.Length > 0).Order(StringComparer.Ordinal).ToArray();
    }

    private static async Task<(int ExitCode, string Error)> RunAsync(string program, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(program, args) { RedirectStandardError = true })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, error);
    }

    private static async Task<int> SnapshotCountAsync(CofferProcess coffer, string store)
    {
        var ls = await coffer.RunAsync("at", store, "ls");
        Assert.That(ls.ExitCode, Is.Zero, ls.ToString());
        return ls.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    [Test]
    public async Task Exclude_flags_tag_files_size_limit_and_file_lists_choose_what_a_snapshot_holds_and_bad_lists_store_nothing()
    {
        using var temp = new TemporaryDirectory("backup-select");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        coffer.Environment["TZ"] = "UTC";
        var source = temp.Combine("source");
        Write(source, "keep.txt", "keep");
        Write(source, "Notes.TMP", "iexcluded");
        Write(source, "skip.log", "excluded by the exclude file");
        Write(source, "big.bin", new string('x', 3000));
        Write(source, "cache/CACHEDIR.TAG", CacheSignature + "\n# a cache\n");
        Write(source, "cache/blob", "cached");
        Write(source, "notcache/CACHEDIR.TAG", "no signature here");
        Write(source, "notcache/blob", "kept");
        Write(source, "marked/.nobackup", "");
        Write(source, "marked/secret", "left out");
        Write(source, "src/a.c", "a");
        Write(source, "src/b.h", "b");
        Write(source, "src/sub/c.c", "c");
        Write(source, "docs/readme.md", "docs");
        Write(source, "odd*name", "a star in its name");
        Write(source, "oddXname", "not listed");
        var excludeFile = temp.Combine("excludes");
        File.WriteAllText(excludeFile, "# logs\n\n  *.log  \n");
        var iexcludeFile = temp.Combine("iexcludes");
        File.WriteAllText(iexcludeFile, "SUB\n");

        // Another file system mounted below the source: -x keeps its mount point, empty (tests run as root; no mount is a failure, not a skip).
        var mounted = Path.Combine(source, "mnt");
        Directory.CreateDirectory(mounted);
        var mount = await RunAsync("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mounted);
        Assert.That(mount.ExitCode, Is.Zero, $"--one-file-system needs a tmpfs mounted below the source, as root: mount failed: {mount.Error}");
        try
        {
            Write(mounted, "other-fs.txt", "on another file system");
            var excluded = await coffer.RunAsync("at", store, "backup", source, "--exclude-file", excludeFile, "--iexclude", "*.tmp", "--iexclude-file", iexcludeFile,
                "--exclude-caches", "--exclude-if-present", ".nobackup", "--exclude-larger-than", "2K", "-x");
            var first = LifecycleCli.SnapshotId(excluded);
            Assert.That(await PathsAsync(coffer, store, first), Is.EqualTo(new[]
            {
                "cache", "cache/CACHEDIR.TAG", "docs", "docs/readme.md", "keep.txt", "marked", "marked/.nobackup", "mnt",
                "notcache", "notcache/CACHEDIR.TAG", "notcache/blob", "odd*name", "oddXname", "src", "src/a.c", "src/b.h",
            }));
        }
        finally
        {
            await RunAsync("umount", mounted);
        }

        // The lists: globs and comments in --files-from, literal lines in -verbatim, NUL-ended names in -raw; paths as the user
        // has them, stored relative to SOURCE. --host and --time are what the snapshot records.
        var filesFrom = temp.Combine("files-from");
        File.WriteAllText(filesFrom, $"# sources\n\n  {source}/src/*.c  \n{source}/docs\n");
        var verbatim = temp.Combine("verbatim");
        File.WriteAllText(verbatim, $"{source}/keep.txt\n\n{source}/odd*name\n");
        var raw = temp.Combine("raw");
        File.WriteAllText(raw, $"{source}/marked/secret\0");
        var listed = await coffer.RunAsync("at", store, "backup", source, "--files-from", filesFrom, "--files-from-verbatim", verbatim, "--files-from-raw", raw,
            "--host", "db-server", "--time", "2026-01-02 03:04:05");
        var second = LifecycleCli.SnapshotId(listed);
        Assert.That(await PathsAsync(coffer, store, second), Is.EqualTo(new[] { "docs", "docs/readme.md", "keep.txt", "marked", "marked/secret", "odd*name", "src", "src/a.c" }));
        var byHost = await coffer.RunAsync("at", store, "ls", "--host", "db-server");
        Assert.That(byHost.Output.Trim(), Does.StartWith($"{second}  2026-01-02 03:04:05"), byHost.ToString());

        // Bad input: one line, non-zero exit, no snapshot.
        var outside = temp.Combine("outside");
        File.WriteAllText(outside, "/etc/hostname\n");
        var missing = temp.Combine("missing");
        File.WriteAllText(missing, $"{source}/no-such-file\n");
        string[][] refused =
        [
            ["--exclude-file", temp.Combine("no-such-list")],
            ["--files-from", outside],
            ["--files-from-verbatim", missing],
            ["--exclude-larger-than", "ten"],
            ["--time", "yesterday"],
        ];
        foreach (var flags in refused)
        {
            var result = await coffer.RunAsync(["at", store, "backup", source, .. flags]);
            CofferCli.AssertOneLineFailure(result, flags[0]);
        }

        var piped = await coffer.RunAsync(["at", store, "backup", source, "--stdin"], input: "data");
        CofferCli.AssertOneLineFailure(piped, "--stdin backs up what is piped in: give no SOURCE");
        var empty = await coffer.RunAsync(["at", store, "backup", "--stdin"], input: "");
        CofferCli.AssertOneLineFailure(empty, "nothing was piped in");
        Assert.That(await SnapshotCountAsync(coffer, store), Is.EqualTo(2));
    }

    [Test]
    public async Task Stdin_is_stored_as_one_file_dump_gives_it_back_and_a_dry_run_reports_without_storing()
    {
        using var temp = new TemporaryDirectory("backup-stdin");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var dump = string.Concat(Enumerable.Range(0, 2000).Select(i => $"INSERT INTO t VALUES ({i});\n"));
        var stdin = await coffer.RunAsync(["at", store, "backup", "--stdin", "--stdin-filename", "db.sql", "--tag", "db"], input: dump);
        var snapshot = LifecycleCli.SnapshotId(stdin);
        Assert.That(stdin.Output, Does.Contain("1 files"), stdin.ToString());
        var back = await coffer.RunAsync("at", store, "dump", $"{snapshot}:db.sql");
        Assert.That(back.ExitCode, Is.Zero, back.ToString());
        Assert.That(back.Output, Is.EqualTo(dump));
        var bySource = await coffer.RunAsync("at", store, "ls", "--source", "stdin://db.sql");
        Assert.That(bySource.Output, Does.StartWith(snapshot).And.Contain("stdin://db.sql  tags=db"), bySource.ToString());

        // A dry run reads and counts: what is already stored (the dump) is not counted as new; nothing is written.
        var source = temp.Combine("source");
        Write(source, "again.sql", dump);
        Write(source, "new.txt", "fresh content");
        var objects = Directory.GetFiles(store, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        var dryRun = await coffer.RunAsync("at", store, "backup", source, "--dry-run");
        Assert.That(dryRun.ExitCode, Is.Zero, dryRun.ToString());
        Assert.That(dryRun.Output, Does.Contain("would read \"again.sql\"").And.Contain("would read \"new.txt\"")
            .And.Contain("dry run: would back up 2 files, 1 directories").And.Contain("about 13 B of new data"), dryRun.ToString());
        Assert.That(Directory.GetFiles(store, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal), Is.EqualTo(objects), "a dry run wrote to the store");
    }

    [Test]
    public async Task On_an_Azurite_source_tag_files_the_size_limit_and_case_insensitive_excludes_apply_to_blobs()
    {
        using var temp = new TemporaryDirectory("backup-select-azure");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        CofferCli.InstallBundled(coffer, "AzBlob", "azblob");
        var azurite = await AzuriteServer.GetSharedAsync();
        var location = $"azblob://select-{Guid.NewGuid():N}";
        Assert.That((await coffer.RunAsync("destination", "add", "blobs", location, $"connection_string={azurite.ConnectionString}")).ExitCode, Is.Zero);
        Assert.That((await coffer.RunAsync("source", "add", "blobs", location, $"connection_string={azurite.ConnectionString}")).ExitCode, Is.Zero);

        // The tree goes into the container the way a user would put it there: a restore to the destination.
        var source = temp.Combine("source");
        Write(source, "keep.txt", "keep");
        Write(source, "Notes.TMP", "iexcluded");
        Write(source, "big.bin", new string('x', 3000));
        Write(source, "cache/CACHEDIR.TAG", CacheSignature);
        Write(source, "cache/blob", "cached");
        Write(source, "docs/readme.md", "docs");
        LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));
        var restored = await coffer.RunAsync("at", store, "restore", "latest", "-to", "@blobs");
        Assert.That(restored.ExitCode, Is.Zero, restored.ToString());

        var backup = await coffer.RunAsync("at", store, "backup", "@blobs", "--exclude-caches", "--iexclude", "*.tmp", "--exclude-larger-than", "2K");
        var snapshot = LifecycleCli.SnapshotId(backup);
        Assert.That(await PathsAsync(coffer, store, snapshot), Is.EqualTo(new[] { "cache", "cache/CACHEDIR.TAG", "docs", "docs/readme.md", "keep.txt" }));
    }
}
