using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Coffer.Connectors;
using Coffer.Packager;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// Seeded mutations of a real package (of its gzip bytes, and of the tar inside: headers, names, sizes, type
/// flags, content) fed to <c>pkg add</c>'s installer: each ends with the package installed or a
/// <see cref="PackageException"/>, within a time limit, with nothing written outside the install directory
/// and the install directory unchanged on refusal.
/// </summary>
public class PtarFuzzTests
{
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(10);

    private static readonly string[] HostileNames = ["../x", "/etc/x", "a/../../x", "..", ".", "", "manifest.json", "a\\..\\x", "x/", "./../x"];

    private static readonly byte[] HostileTypes = "0125673LKxgS\0?"u8.ToArray();

    [TestCase(11, 1500)]
    public async Task Mutated_packages_install_or_are_refused_cleanly(int seed, int cases)
    {
        using var temp = new TemporaryDirectory("ptar-fuzz");
        var (good, tar) = await WriteRealPackageAsync(temp.Combine("good"));
        var sandbox = temp.Combine("sandbox");
        Directory.CreateDirectory(sandbox);
        var random = new Random(seed);
        var outcomes = new Dictionary<string, int>();

        for (var i = 0; i < cases; i++)
        {
            var (bytes, what) = random.Next(4) == 0 ? Mutator.Mutate(random, good.Bytes) : Gzip(MutateTar(random, tar));
            var package = Path.Combine(sandbox, good.Name);
            await File.WriteAllBytesAsync(package, bytes);
            var data = Path.Combine(sandbox, "data");
            var paths = new CofferPaths(data, Path.Combine(sandbox, "config"));
            Directory.CreateDirectory(paths.PluginsDirectory);
            var label = $"seed {seed} case {i}: {what}";
            string outcome;
            try
            {
                var result = await Task.Run(() => new PackageInstaller(paths).AddAsync(package)).WaitAsync(CaseTimeout);
                outcome = "installed";
                Assert.That(Path.GetFullPath(result.Package.Directory), Does.StartWith(Path.GetFullPath(data) + "/"), label);
            }
            catch (PackageException e)
            {
                outcome = "refused";
                Assert.That(e.Message, Does.Not.Contain('\n'), $"{label}: one line");
                Assert.That(Directory.GetFileSystemEntries(paths.PluginsDirectory), Is.Empty, $"{label}: a refused package left something in the install directory");
            }
            catch (TimeoutException)
            {
                outcome = "hang";
                Assert.Fail($"{label}: no result within {CaseTimeout}");
            }
            catch (Exception e) when (e is not AssertionException)
            {
                outcome = e.GetType().Name;
                Assert.Fail($"{label}: unexpected {e.GetType().Name}: {e.Message}\n{e}");
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            Assert.That(Directory.GetFileSystemEntries(sandbox).Select(Path.GetFileName), Is.SubsetOf(new[] { good.Name, "data", "config" }), $"{label}: wrote beside the install directory");
            Directory.Delete(data, recursive: true);
            if (Directory.Exists(Path.Combine(sandbox, "config")))
            {
                Directory.Delete(Path.Combine(sandbox, "config"), recursive: true);
            }
        }

        TestContext.Out.WriteLine(string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}")));
        Assert.That(outcomes.GetValueOrDefault("refused"), Is.GreaterThan(cases / 2), "the mutations reached the reader's checks");
    }

    // A package of the HumanizerOld test plugin's assembly, written by the real writer, and its inner tar.
    private static async Task<((string Name, byte[] Bytes) Package, byte[] Tar)> WriteRealPackageAsync(string directory)
    {
        var entry = Path.Combine(RepositoryPaths.TestProjectOutput(Path.Combine("TestPlugins", "Coffer.TestPlugins.HumanizerOld")), "Coffer.TestPlugins.HumanizerOld.dll");
        var source = Path.Combine(directory, "files");
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        File.Copy(entry, Path.Combine(source, Path.GetFileName(entry)));
        File.Copy(Path.ChangeExtension(entry, ".deps.json"), Path.Combine(source, "sub", "deps.json"));
        using var catalog = ConnectorCatalog.Load([new PluginSource("probe", entry)]);
        var files = Directory.GetFiles(source, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(f =>
        {
            var content = File.ReadAllBytes(f);
            return new FileManifest(Path.GetRelativePath(source, f), content.Length, Convert.ToHexStringLower(SHA256.HashData(content)));
        }).ToList();
        var manifest = new PackageManifest
        {
            Name = "probe",
            Version = "1.0.0",
            Abi = "1.0",
            Os = "any",
            Arch = "any",
            Entry = Path.GetFileName(entry),
            Connectors = [.. catalog.Connectors.Select(c => ConnectorManifest.From(c.Descriptor))],
            Files = files,
        };
        using var output = new MemoryStream();
        await PackageArchive.WriteAsync(output, manifest, source);
        var bytes = output.ToArray();
        var name = PackageFileName.Of(manifest).ToString();
        await File.WriteAllBytesAsync(Path.Combine(directory, name), bytes);
        Assert.That((await PackageArchive.VerifyAsync(Path.Combine(directory, name))).Name, Is.EqualTo("probe"), "the unmutated package verifies");
        using var tar = new MemoryStream();
        using (var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress))
        {
            await gzip.CopyToAsync(tar);
        }

        return ((name, bytes), tar.ToArray());
    }

    private static (byte[], string) Gzip((byte[] Tar, string What) mutated)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(mutated.Tar);
        }

        return (output.ToArray(), mutated.What);
    }

    // Mutates one header field of one tar entry (names, sizes, type flags, link names, checksums kept valid
    // or not), or the content, or the tar as a whole.
    private static (byte[] Tar, string What) MutateTar(Random random, byte[] tar)
    {
        var headers = Enumerable.Range(0, tar.Length / 512).Select(b => b * 512).Where(o => tar.AsSpan(o + 257, 5).SequenceEqual("ustar"u8)).ToList();
        if (random.Next(5) == 0)
        {
            var (bytes, what) = Mutator.Mutate(random, tar);
            return (bytes, $"tar: {what}");
        }

        var copy = (byte[])tar.Clone();
        var header = headers[random.Next(headers.Count)];
        string change;
        switch (random.Next(5))
        {
            case 0:
                change = $"name '{Set(copy, header, 0, 100, HostileNames[random.Next(HostileNames.Length)])}'";
                break;
            case 1:
                string[] sizes = ["77777777777", "00000000000", "1", "-1", "zzzz", "7777777777777777", "\u0080\u0000\u0000\u0000\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff"];
                change = $"size '{Set(copy, header, 124, 12, sizes[random.Next(sizes.Length)])}'";
                break;
            case 2:
                copy[header + 156] = HostileTypes[random.Next(HostileTypes.Length)];
                change = $"type '{(char)copy[header + 156]}'";
                break;
            case 3:
                change = $"link '{Set(copy, header, 157, 100, HostileNames[random.Next(HostileNames.Length)])}'";
                break;
            default:
                change = $"prefix '{Set(copy, header, 345, 155, HostileNames[random.Next(HostileNames.Length)])}'";
                break;
        }

        // Most mutations keep the checksum right, so they get past it to the field checks.
        if (random.Next(4) != 0)
        {
            FixChecksum(copy, header);
        }

        return (copy, $"tar entry at {header}: {change}");
    }

    private static string Set(byte[] tar, int header, int offset, int length, string value)
    {
        var field = tar.AsSpan(header + offset, length);
        field.Clear();
        var bytes = Encoding.Latin1.GetBytes(value);
        bytes.AsSpan(0, Math.Min(bytes.Length, length)).CopyTo(field);
        return value;
    }

    private static void FixChecksum(byte[] tar, int header)
    {
        var block = tar.AsSpan(header, 512);
        block.Slice(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in block)
        {
            sum += b;
        }

        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(block.Slice(148, 8));
    }
}
