using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Coffer.Packager.Tests.Support;

/// <summary>One entry to write into a crafted archive: any tar type, any name, any data.</summary>
public sealed record CraftedEntry(string Name, byte[]? Data = null, TarEntryType Type = TarEntryType.RegularFile, string? LinkName = null);

/// <summary>
/// A good package opened in memory, to re-pack with one thing wrong. Archives are written with
/// System.Formats.Tar, which will write whatever a hostile packager would (links, devices, pax, '..').
/// </summary>
public sealed class CraftedPackage
{
    private CraftedPackage(PackageManifest manifest, IReadOnlyList<(string Path, byte[] Data)> files)
    {
        Manifest = manifest;
        Files = files;
    }

    /// <summary>The good package's manifest.</summary>
    public PackageManifest Manifest { get; }

    /// <summary>The good package's files, in archive order.</summary>
    public IReadOnlyList<(string Path, byte[] Data)> Files { get; }

    public static CraftedPackage Open(string ptar)
    {
        using var file = File.OpenRead(ptar);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        PackageManifest? manifest = null;
        var files = new List<(string, byte[])>();
        while (reader.GetNextEntry() is { } entry)
        {
            using var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            if (entry.Name == PackageManifest.FileName)
            {
                manifest = PackageManifest.Parse(data.ToArray());
            }
            else
            {
                files.Add((entry.Name, data.ToArray()));
            }
        }

        return new CraftedPackage(manifest!, files);
    }

    /// <summary>The same package under another name (and scheme), so it can sit beside the original.</summary>
    public CraftedPackage Renamed(string name, string? scheme = null) => new(
        Manifest with
        {
            Name = name,
            Connectors = Manifest.Connectors.Select(c => c with { Scheme = scheme ?? name }).ToList(),
        },
        Files);

    /// <summary>The manifest and files as entries, the manifest first.</summary>
    public List<CraftedEntry> Entries(PackageManifest? manifest = null) =>
        [new(PackageManifest.FileName, (manifest ?? Manifest).ToJson()), .. Files.Select(f => new CraftedEntry(f.Path, f.Data))];

    /// <summary>A manifest that lists <paramref name="files"/> with their true sizes and hashes.</summary>
    public static IReadOnlyList<FileManifest> Describe(IEnumerable<(string Path, byte[] Data)> files) =>
        files.Select(f => new FileManifest(f.Path, f.Data.Length, Convert.ToHexStringLower(SHA256.HashData(f.Data)))).ToList();

    /// <summary>Writes the package as it is, under its proper file name, into <paramref name="directory"/>.</summary>
    public string Write(string directory, PackageManifest? manifest = null)
    {
        manifest ??= Manifest;
        return Write(Path.Combine(directory, PackageFileName.Of(manifest).ToString()), Entries(manifest));
    }

    /// <summary>Writes entries as a gzip'd tar (or a plain one) in the given tar format.</summary>
    public static string Write(string path, IEnumerable<CraftedEntry> entries, bool gzip = true, TarEntryFormat format = TarEntryFormat.Ustar)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = File.Create(path);
        using Stream output = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        using (var writer = new TarWriter(output, format, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                TarEntry tar = format switch
                {
                    TarEntryFormat.Pax => new PaxTarEntry(entry.Type, entry.Name),
                    TarEntryFormat.Gnu => new GnuTarEntry(entry.Type, entry.Name),
                    TarEntryFormat.V7 => new V7TarEntry(entry.Type, entry.Name),
                    _ => new UstarTarEntry(entry.Type, entry.Name),
                };
                if (entry.LinkName is not null)
                {
                    tar.LinkName = entry.LinkName;
                }

                if (entry.Data is not null)
                {
                    tar.DataStream = new MemoryStream(entry.Data);
                }

                writer.WriteEntry(tar);
            }
        }

        return path;
    }
}
