using System.Diagnostics;
using System.IO.Compression;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Dump;

public class DumpTests
{
    [TestCase(false)]
    [TestCase(true)]
    public async Task A_directory_dumps_as_a_tar_that_gnu_tar_extracts_into_the_same_tree(bool azure)
    {
        using var temp = new TemporaryDirectory("dump");
        var (coffer, store, source) = await BackedUpSampleAsync(temp, azure);

        // To a pipe, the default for a directory: a tar stream, written without seeking.
        var piped = temp.Combine("piped.tar");
        var (exitCode, error) = await DumpToFileAsync(coffer, piped, "at", store, "dump", "latest");
        Assert.That(exitCode, Is.Zero, error);
        var whole = temp.Combine("whole");
        await ExtractAsync("tar", "-x", "-p", "-f", piped, "-C", whole);
        TreeAssert.AreEqual(source, whole, compareRootMtime: false);

        // A subdirectory, to a file.
        var docsTar = temp.Combine("docs.tar");
        var written = await coffer.RunAsync("at", store, "dump", "latest:docs", "--archive", "tar", "-o", docsTar);
        Assert.That(written.ExitCode, Is.Zero, written.ToString());
        Assert.That(written.Output, Does.Contain($"to {docsTar} as tar: 6 entries"), written.ToString());
        var docs = temp.Combine("docs");
        await ExtractAsync("tar", "-x", "-p", "-f", docsTar, "-C", docs);
        TreeAssert.AreEqual(Path.Combine(source, "docs"), docs, compareRootMtime: false);

        // A file archived alone keeps its name.
        var single = temp.Combine("single.tar");
        Assert.That((await coffer.RunAsync("at", store, "dump", "latest:run.sh", "-a", "tar", "-o", single)).ExitCode, Is.Zero);
        var listing = await CofferProcess.RunAsync(Tool("tar", "-t", "-v", "-f", single), "tar -tvf", TimeSpan.FromMinutes(1));
        Assert.That(listing.Output.Trim(), Does.StartWith("-rwxr-x--x").And.EndWith(" run.sh"), listing.ToString());
    }

    [Test]
    public async Task A_file_dumps_as_its_content_to_standard_output_or_a_file()
    {
        using var temp = new TemporaryDirectory("dump");
        var (coffer, store, source) = await BackedUpSampleAsync(temp);

        var text = await coffer.RunAsync("at", store, "dump", "latest:readme.txt");
        Assert.That(text.ExitCode, Is.Zero, text.ToString());
        Assert.That(text.Output, Is.EqualTo("hello coffer\n"));

        var copy = temp.Combine("random.bin");
        var written = await coffer.RunAsync("at", store, "dump", "latest:docs/deep/er/random.bin", "-o", copy);
        Assert.That(written.ExitCode, Is.Zero, written.ToString());
        Assert.That(File.ReadAllBytes(copy), SameBytes.As(File.ReadAllBytes(Path.Combine(source, "docs", "deep", "er", "random.bin"))));
        Assert.That(File.Exists(copy + ".partial"), Is.False);
    }

    [Test]
    public async Task A_directory_dumps_as_a_zip_with_modes_mtimes_and_symlinks()
    {
        using var temp = new TemporaryDirectory("dump");
        var (coffer, store, source) = await BackedUpSampleAsync(temp);
        var zipFile = temp.Combine("sample.zip");

        var written = await coffer.RunAsync("at", store, "dump", "latest", "--archive", "zip", "-o", zipFile);
        Assert.That(written.ExitCode, Is.Zero, written.ToString());

        // Python's zipfile checks every entry's CRC: an independent reader of the format.
        var tested = await CofferProcess.RunAsync(Tool("python3", "-m", "zipfile", "-t", zipFile), "python3 -m zipfile -t", TimeSpan.FromMinutes(1));
        Assert.That(tested.ExitCode, Is.Zero, tested.ToString());

        var expected = Describe(source);
        using (var zip = ZipFile.OpenRead(zipFile))
        {
            var entries = zip.Entries.ToDictionary(e => e.FullName.TrimEnd('/'));
            Assert.That(entries.Keys, Is.EquivalentTo(expected.Keys));
            foreach (var (path, (kind, mode, mtime, content)) in expected)
            {
                var entry = entries[path];
                var attributes = entry.ExternalAttributes >> 16;
                Assert.That(attributes & 0xF000, Is.EqualTo(kind switch { 'd' => 0x4000, 'l' => 0xA000, _ => 0x8000 }), path);
                using var reader = new StreamReader(entry.Open());
                var read = reader.ReadToEnd();
                if (kind == 'l')
                {
                    Assert.That(read, Is.EqualTo(content), path);
                    continue;
                }

                Assert.That((UnixFileMode)(attributes & 0xFFF), Is.EqualTo(mode), path);
                Assert.That((entry.LastWriteTime - mtime).Duration(), Is.LessThanOrEqualTo(TimeSpan.FromSeconds(2)), path);
                if (kind == '-')
                {
                    Assert.That(entry.Length, Is.EqualTo(new FileInfo(Path.Combine(source, path)).Length), path);
                }
            }
        }

        if (File.Exists("/usr/bin/unzip"))
        {
            var unzipped = temp.Combine("unzipped");
            await ExtractAsync("unzip", "-q", zipFile, "-d", unzipped);
            Assert.That(Describe(unzipped).Select(e => (e.Key, e.Value.Kind, e.Value.Mode, e.Value.Content)),
                Is.EquivalentTo(expected.Select(e => (e.Key, e.Value.Kind, e.Value.Mode, e.Value.Content))));
        }
    }

    [Test]
    public async Task Bad_input_is_one_line_and_writes_nothing()
    {
        using var temp = new TemporaryDirectory("dump");
        var (coffer, store, _) = await BackedUpSampleAsync(temp);
        var output = temp.Combine("out.tar");

        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "dump", "ffffffff", "-o", output), "no snapshot 'ffffffff'");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "dump", "latest:no/such", "-o", output), "no 'no/such'");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "dump", "latest", "--archive", "rar", "-o", output), "not an archive format");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "dump", "latest:link-to-readme", "-o", output), "is a symlink");
        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", store, "dump", "latest", "-o", temp.Combine("no-dir", "x.tar")), "its directory does not exist");
        Assert.That(Directory.GetFiles(temp.Path), Is.Empty);
    }

    private static async Task<(CofferProcess Coffer, string Store, string Source)> BackedUpSampleAsync(TemporaryDirectory temp, bool azure = false)
    {
        var (coffer, store) = await LifecycleCli.StoreAsync(temp, azure);
        var source = temp.Combine("source");
        TreeAssert.BuildSample(source);
        var backup = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());
        return (coffer, store, source);
    }

    // Runs coffer with its standard output, as bytes, going to a file (a pipe on coffer's side).
    private static async Task<(int ExitCode, string Error)> DumpToFileAsync(CofferProcess coffer, string file, params string[] args)
    {
        using var process = Process.Start(coffer.StartInfo(args))!;
        process.StandardInput.Close();
        var error = process.StandardError.ReadToEndAsync();
        await using (var output = File.Create(file))
        {
            await process.StandardOutput.BaseStream.CopyToAsync(output);
        }

        await process.WaitForExitAsync();
        return (process.ExitCode, await error);
    }

    private static async Task ExtractAsync(string tool, params string[] args)
    {
        Directory.CreateDirectory(args[^1]);
        var result = await CofferProcess.RunAsync(Tool(tool, args), tool, TimeSpan.FromMinutes(1));
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
    }

    private static ProcessStartInfo Tool(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        args.ToList().ForEach(info.ArgumentList.Add);
        return info;
    }

    // Every entry below root: kind, mode, mtime, and a link's target (a file's size stands for its content here).
    private static Dictionary<string, (char Kind, UnixFileMode Mode, DateTimeOffset Mtime, string Content)> Describe(string root)
    {
        var result = new Dictionary<string, (char, UnixFileMode, DateTimeOffset, string)>(StringComparer.Ordinal);
        var pending = new Stack<DirectoryInfo>([new DirectoryInfo(root)]);
        while (pending.Count > 0)
        {
            foreach (var info in pending.Pop().EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0 }))
            {
                var path = Path.GetRelativePath(root, info.FullName);
                if (info.LinkTarget is { } target)
                {
                    result[path] = ('l', default, default, target);
                }
                else if (info is DirectoryInfo directory)
                {
                    result[path] = ('d', directory.UnixFileMode, directory.LastWriteTimeUtc, "");
                    pending.Push(directory);
                }
                else
                {
                    result[path] = ('-', info.UnixFileMode, info.LastWriteTimeUtc, "");
                }
            }
        }

        return result;
    }
}
