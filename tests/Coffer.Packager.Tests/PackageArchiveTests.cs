using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Coffer.Packager.Tests.Support;

namespace Coffer.Packager.Tests;

/// <summary>Every way a package file itself can be wrong, each refused by 'coffer pkg add' with the install directory untouched.</summary>
public class PackageArchiveTests : PackageTestBase
{
    [Test]
    public async Task A_good_package_verifies_and_installs()
    {
        var path = Good.Write(Work);

        var manifest = await PackageArchive.VerifyAsync(path);
        var result = Coffer.Run("pkg", "add", "--allow-unsigned", path);

        Assert.That(manifest, Is.EqualTo(Good.Manifest).Using<PackageManifest>((a, b) => a.ToJson().AsSpan().SequenceEqual(b.ToJson())));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.Output, Does.StartWith("installed probe 1.0.0"));
    }

    [Test]
    public void A_plain_uncompressed_tar_is_accepted_too()
    {
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), Good.Entries(), gzip: false);

        var result = Coffer.Run("pkg", "add", "--allow-unsigned", path);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }

    [Test]
    public void A_missing_file_is_one_clear_line() =>
        AssertRefused(Path.Combine(Work, ProbeFileName), $"cannot read {Path.Combine(Work, ProbeFileName)}");

    [Test]
    public void Text_is_not_a_package()
    {
        var path = Path.Combine(Work, ProbeFileName);
        File.WriteAllText(path, "hello, I am not a package\n" + new string('x', 2000));

        AssertRefused(path, $"{ProbeFileName} is not a coffer package");
    }

    [Test]
    public void An_empty_file_is_not_a_package()
    {
        var path = Path.Combine(Work, ProbeFileName);
        File.WriteAllBytes(path, []);

        AssertRefused(path, "is not a coffer package");
    }

    [Test]
    public void A_zip_is_not_a_package()
    {
        var path = Path.Combine(Work, ProbeFileName);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var entry = new StreamWriter(zip.CreateEntry(PackageManifest.FileName).Open());
            entry.Write(Encoding.UTF8.GetString(Good.Manifest.ToJson()));
        }

        AssertRefused(path, "is not a coffer package");
    }

    [TestCase(0.5)]
    [TestCase(0.9)]
    public void A_truncated_package_is_refused(double keep)
    {
        var good = Good.Write(Path.Combine(Work, "good"));
        var bytes = File.ReadAllBytes(good);
        var path = Path.Combine(Work, ProbeFileName);
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keep)]);

        AssertRefused(path, "is truncated");
    }

    [Test]
    public void A_truncated_uncompressed_package_is_refused()
    {
        var good = CraftedPackage.Write(Path.Combine(Work, "good", ProbeFileName), Good.Entries(), gzip: false);
        var bytes = File.ReadAllBytes(good);
        var path = Path.Combine(Work, ProbeFileName);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        AssertRefused(path, "is truncated");
    }

    [Test]
    public void A_corrupt_gzip_stream_is_refused()
    {
        var good = Good.Write(Path.Combine(Work, "good"));
        var bytes = File.ReadAllBytes(good);
        // Garbage in the deflate data: either deflate or the tar/sha256 checks notice; both say "corrupt".
        for (var i = 200; i < 600; i++)
        {
            bytes[i] ^= 0x5a;
        }

        var path = Path.Combine(Work, ProbeFileName);
        File.WriteAllBytes(path, bytes);

        AssertRefused(path, "is corrupt");
    }

    [Test]
    public void A_wrong_gzip_checksum_is_refused()
    {
        var good = Good.Write(Path.Combine(Work, "good"));
        var bytes = File.ReadAllBytes(good);
        bytes[^8] ^= 0xff; // the CRC-32 in the gzip trailer, after every tar byte

        var path = Path.Combine(Work, ProbeFileName);
        File.WriteAllBytes(path, bytes);

        AssertRefused(path, "is corrupt (gzip:");
    }

    [Test]
    public void A_corrupt_tar_header_is_refused()
    {
        var good = CraftedPackage.Write(Path.Combine(Work, "good", ProbeFileName), Good.Entries(), gzip: false);
        var bytes = File.ReadAllBytes(good);
        var second = 512 + ((Good.Manifest.ToJson().Length + 511) / 512 * 512); // the header after manifest.json
        bytes[second + 10] ^= 0x01;
        var path = Path.Combine(Work, ProbeFileName);
        File.WriteAllBytes(path, bytes);

        AssertRefused(path, "is corrupt (bad tar header");
    }

    [Test]
    public void A_package_without_a_manifest_is_refused()
    {
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), Good.Entries().Skip(1));

        AssertRefused(path, "is not a coffer package: its first entry is not manifest.json");
    }

    [Test]
    public void A_manifest_that_is_not_first_is_refused()
    {
        var entries = Good.Entries();
        entries.Add(entries[0]);
        entries.RemoveAt(0);
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), entries);

        AssertRefused(path, "its first entry is not manifest.json");
    }

    [TestCase("{ this is not json", TestName = "Malformed JSON")]
    [TestCase("null", TestName = "JSON null")]
    [TestCase("""{"format":1,"name":"probe","version":"1.0.0","abi":"1.0","os":"any","arch":"any"}""", TestName = "No entry")]
    [TestCase("""{"format":1,"name":"probe","version":"1.0.0","abi":"1.0","os":"any","arch":"any","entry":"x.dll","connectors":[{"kind":"teleporter","scheme":"probe","description":"","options":[]}]}""", TestName = "Unknown connector kind")]
    public void An_invalid_manifest_is_refused(string json)
    {
        var entries = Good.Entries();
        entries[0] = new CraftedEntry(PackageManifest.FileName, Encoding.UTF8.GetBytes(json));
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), entries);

        AssertRefused(path, "manifest.json is not a valid manifest");
    }

    [Test]
    public void An_oversized_manifest_is_refused()
    {
        var entries = Good.Entries();
        entries[0] = new CraftedEntry(PackageManifest.FileName, new byte[(1 << 20) + 1]);
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), entries);

        AssertRefused(path, "its manifest.json is larger than 1 MiB");
    }

    [TestCase("Probe", TestName = "Upper case")]
    [TestCase("-probe", TestName = "Leading dash")]
    [TestCase("pro.be", TestName = "Dot")]
    public void A_bad_name_is_refused(string name) =>
        AssertRefused(WriteWith(m => m with { Name = name }), $"invalid package name '{name}'");

    [Test]
    public void A_name_longer_than_64_is_refused() =>
        AssertRefused(WriteWith(m => m with { Name = new string('a', 65) }), "invalid package name");

    [TestCase("1.0")]
    [TestCase("01.0.0")]
    [TestCase("1.0.0.0")]
    [TestCase("latest")]
    public void A_bad_version_is_refused(string version) =>
        AssertRefused(WriteWith(m => m with { Version = version }), $"invalid version '{version}'");

    [Test]
    public void A_prerelease_version_is_accepted()
    {
        var path = WriteWith(m => m with { Version = "1.1.0-beta.2+build.7" });

        var result = Coffer.Run("pkg", "add", "--allow-unsigned", path);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }

    [TestCase("probe.ptar", "is not a package file name")]
    [TestCase("probe_1.0.0_any_any.ptar", "is not a package file name")]
    [TestCase("probe_v1.0.0_any_any.tar.gz", "is not a package file name")]
    [TestCase("other_v1.0.0_any_any.ptar", "its file name says name 'other' but the manifest says 'probe'")]
    [TestCase("probe_v1.0.1_any_any.ptar", "its file name says version 1.0.1 but the manifest says 1.0.0")]
    [TestCase("probe_v1.0.0_linux_amd64.ptar", "its file name says platform linux/amd64 but the manifest says any/any")]
    [TestCase("probe_v1.0.0_any_arm64.ptar", "its file name says platform any/arm64")]
    public void A_file_name_that_disagrees_with_the_manifest_is_refused(string fileName, string expected) =>
        AssertRefused(WriteWith(m => m, fileName), expected);

    [Test]
    public void A_checksum_mismatch_is_refused()
    {
        var entries = Good.Entries();
        var index = entries.FindIndex(e => e.Name == "Humanizer.dll");
        var altered = entries[index].Data!.ToArray();
        altered[altered.Length / 2] ^= 0x01;
        entries[index] = entries[index] with { Data = altered };
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), entries);

        AssertRefused(path, "is corrupt or altered: 'Humanizer.dll' does not match its sha256 in manifest.json");
    }

    [Test]
    public void A_size_mismatch_is_refused()
    {
        var entries = Good.Entries();
        var index = entries.FindIndex(e => e.Name == "Humanizer.dll");
        entries[index] = entries[index] with { Data = [.. entries[index].Data!, 0] };
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), entries);

        AssertRefused(path, "'Humanizer.dll' has");
    }

    [Test]
    public void A_listed_file_missing_from_the_archive_is_refused()
    {
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), Good.Entries().Where(e => e.Name != "Humanizer.dll"));

        AssertRefused(path, "'Humanizer.dll' is listed in manifest.json but missing from the archive");
    }

    [Test]
    public void A_file_not_listed_in_the_manifest_is_refused()
    {
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), [.. Good.Entries(), new CraftedEntry("extra.dll", [1, 2, 3])]);

        AssertRefused(path, "'extra.dll' is in the archive but not listed in manifest.json");
    }

    [TestCase("/tmp/evil.dll", "has an absolute path")]
    [TestCase("../evil.dll", "has '..' in its path")]
    [TestCase("lib/../../evil.dll", "has '..' in its path")]
    [TestCase("lib//evil.dll", "has an empty or '.' component")]
    [TestCase("lib\\evil.dll", "has a backslash")]
    public void An_entry_with_an_unsafe_path_is_refused(string name, string expected)
    {
        var data = new byte[] { 1, 2, 3 };
        var manifest = Good.Manifest with { Files = [.. Good.Manifest.Files, .. CraftedPackage.Describe([("evil.dll", data)])] };
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), [.. Good.Entries(manifest), new CraftedEntry(name, data)]);

        AssertRefused(path, $"entry '{name}' {expected}");
    }

    [TestCase("../evil.dll")]
    [TestCase("/etc/evil.dll")]
    public void A_manifest_listing_an_unsafe_path_is_refused(string name)
    {
        var data = new byte[] { 1, 2, 3 };
        var manifest = Good.Manifest with { Files = [.. Good.Manifest.Files, .. CraftedPackage.Describe([(name, data)])] };

        AssertRefused(CraftedPackage.Write(Path.Combine(Work, ProbeFileName), Good.Entries(manifest)), $"'{name}' in manifest.json");
    }

    [TestCase(TarEntryType.SymbolicLink, "is a link")]
    [TestCase(TarEntryType.HardLink, "is a link")]
    [TestCase(TarEntryType.CharacterDevice, "is a device")]
    [TestCase(TarEntryType.BlockDevice, "is a device")]
    [TestCase(TarEntryType.Fifo, "is a FIFO")]
    public void A_special_entry_is_refused(TarEntryType type, string expected)
    {
        var entries = Good.Entries();
        entries.Insert(1, new CraftedEntry("evil", Type: type, LinkName: type is TarEntryType.SymbolicLink or TarEntryType.HardLink ? "/etc/passwd" : null));
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), entries);

        AssertRefused(path, $"entry 'evil' {expected}");
    }

    [Test]
    public void A_link_replacing_a_listed_file_is_refused()
    {
        var entries = Good.Entries();
        var index = entries.FindIndex(e => e.Name == "Humanizer.dll");
        entries[index] = new CraftedEntry("Humanizer.dll", Type: TarEntryType.SymbolicLink, LinkName: "/usr/lib/libc.so.6");
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), entries);

        AssertRefused(path, "entry 'Humanizer.dll' is a link");
    }

    [Test]
    public void A_duplicate_entry_is_refused()
    {
        var entries = Good.Entries();
        entries.Add(entries.Single(e => e.Name == "Humanizer.dll"));
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), entries);

        AssertRefused(path, "entry 'Humanizer.dll' appears twice");
    }

    [Test]
    public void Names_differing_only_in_case_are_duplicates()
    {
        var entries = Good.Entries();
        entries.Add(entries.Single(e => e.Name == "Humanizer.dll") with { Name = "HUMANIZER.dll" });
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), entries);

        AssertRefused(path, "entry 'HUMANIZER.dll' appears twice");
    }

    [Test]
    public void Pax_extended_headers_are_refused()
    {
        var entries = Good.Entries();
        entries[1] = entries[1] with { Name = new string('a', 120) + ".dll" }; // too long for ustar: the writer adds a pax record
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), entries, format: TarEntryFormat.Pax);

        AssertRefused(path, "is a pax extended header");
    }

    [Test]
    public void A_file_larger_than_the_per_file_limit_is_refused_from_its_header()
    {
        // The header claims 600 MiB; the data need not even be there: the refusal comes first.
        var path = Path.Combine(Work, ProbeFileName);
        var data = new byte[1024];
        var manifest = Good.Manifest with { Files = [.. Good.Manifest.Files, new FileManifest("huge.bin", 600L << 20, new string('0', 64))] };
        var good = CraftedPackage.Write(Path.Combine(Work, "good", ProbeFileName), [.. Good.Entries(manifest), new CraftedEntry("huge.bin", data)], gzip: false);
        var bytes = File.ReadAllBytes(good);
        var header = FindHeader(bytes, "huge.bin");
        WriteOctal(bytes.AsSpan(header + 124, 12), 600L << 20);
        FixChecksum(bytes.AsSpan(header, 512));
        File.WriteAllBytes(path, bytes);

        AssertRefused(path, "'huge.bin' is larger than 512 MiB (a possible archive bomb)");
    }

    [Test]
    public async Task An_archive_bomb_is_stopped_by_the_bytes_it_produces()
    {
        // Many small zero-filled files: each is under the per-file limit, together far over the total.
        var zeros = new byte[256 << 10];
        var files = Enumerable.Range(0, 40).Select(i => ($"zeros/{i}.bin", zeros)).ToList();
        var manifest = Good.Manifest with { Files = [.. Good.Manifest.Files, .. CraftedPackage.Describe(files)] };
        var path = CraftedPackage.Write(Path.Combine(Work, ProbeFileName), [.. Good.Entries(manifest), .. files.Select(f => new CraftedEntry(f.Item1, f.zeros))]);
        var before = InstallTree.Hash(Paths.PluginsDirectory);
        var installer = new PackageInstaller(Paths, new PackageInstallerOptions { Limits = new PackageLimits { MaxTotalBytes = 4 << 20 } });

        var error = Assert.ThrowsAsync<PackageException>(() => installer.AddAsync(path));

        Assert.That(error!.Message, Does.Contain("unpacks to more than 4 MiB (a possible archive bomb)"));
        Assert.That(new FileInfo(path).Length, Is.LessThan(1 << 20), "the bomb is small on disk");
        Assert.That(InstallTree.Hash(Paths.PluginsDirectory), Is.EqualTo(before));
        await Task.CompletedTask;
    }

    [Test]
    public void Too_many_entries_are_refused()
    {
        var installer = new PackageInstaller(Paths, new PackageInstallerOptions { Limits = new PackageLimits { MaxEntries = 3 } });

        var error = Assert.ThrowsAsync<PackageException>(() => installer.AddAsync(Good.Write(Work)));

        Assert.That(error!.Message, Does.Contain("has more than 3 entries"));
    }

    private static int FindHeader(byte[] tar, string name)
    {
        var wanted = Encoding.ASCII.GetBytes(name + "\0");
        for (var offset = 0; offset < tar.Length; offset += 512)
        {
            if (tar.AsSpan(offset, wanted.Length).SequenceEqual(wanted))
            {
                return offset;
            }
        }

        throw new AssertionException($"no header for {name}");
    }

    private static void WriteOctal(Span<byte> field, long value)
    {
        var text = Convert.ToString(value, 8).PadLeft(field.Length - 1, '0');
        Encoding.ASCII.GetBytes(text).CopyTo(field);
        field[^1] = 0;
    }

    private static void FixChecksum(Span<byte> header)
    {
        header.Slice(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in header)
        {
            sum += b;
        }

        WriteOctal(header.Slice(148, 7), sum);
        header[155] = (byte)' ';
    }
}
