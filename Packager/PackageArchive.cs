using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Coffer.Packager.Internal;
using Coffer.Plumbing;

namespace Coffer.Packager;

/// <summary>
/// Reads, verifies and writes <c>.ptar</c> packages: a gzip'd (or plain) ustar archive whose first entry
/// is <c>manifest.json</c>, followed by exactly the files the manifest lists. See docs/ptar-format.md.
/// </summary>
public static class PackageArchive
{
    /// <summary>
    /// Reads a whole package and checks everything it can on its own: the file name's shape and its
    /// agreement with the manifest, the manifest, every entry's path and type, and every file's size and
    /// SHA-256. It writes nothing. Whether the package suits this machine and what is installed is
    /// <see cref="PackageInstaller"/>'s business.
    /// </summary>
    /// <param name="path">The <c>.ptar</c> file.</param>
    /// <param name="limits">Bounds on what reading may consume; <see cref="PackageLimits.Default"/> when null.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The verified manifest.</returns>
    /// <exception cref="PackageException">The package is refused; the message says why.</exception>
    public static async Task<PackageManifest> VerifyAsync(string path, PackageLimits? limits = null, CancellationToken cancellationToken = default) =>
        (await ReadAsync(path, limits ?? PackageLimits.Default, null, cancellationToken).ConfigureAwait(false)).Manifest;

    /// <summary>
    /// Reads a package and, when <paramref name="extractTo"/> is given, writes its files there (and its
    /// manifest), verifying as it goes. Files are flushed to disk before this returns. The caller owns
    /// <paramref name="extractTo"/> and deletes it when this throws.
    /// </summary>
    /// <remarks><paramref name="vouch"/>, when given, sees the parsed manifest and its exact bytes before anything else
    /// is checked against them (the signature and the repository's entry) and throws to refuse the package.</remarks>
    internal static async Task<(PackageManifest Manifest, byte[] ManifestJson)> ReadAsync(
        string path, PackageLimits limits, string? extractTo, CancellationToken cancellationToken, Action<PackageManifest, byte[]>? vouch = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var display = Path.GetFileName(path);
        if (!PackageFileName.TryParse(path, out var fileName))
        {
            throw new PackageException($"{display} is not a package file name: expected NAME_vVERSION_OS_ARCH{PackageFileName.Extension} (e.g. azblob_v1.0.0_linux_amd64.ptar)");
        }

        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PackageException($"cannot read {path}: {e.Message}", e);
        }

        await using (file.ConfigureAwait(false))
        {
            try
            {
                return await ReadAsync(file, display, fileName!, limits, extractTo, vouch, cancellationToken).ConfigureAwait(false);
            }
            catch (TarFormatException e)
            {
                throw Refused(display, e);
            }
            catch (InvalidDataException e)
            {
                // What GZipStream says about a damaged deflate stream or a wrong CRC.
                throw new PackageException($"{display} is corrupt (gzip: {e.Message.Split('\n')[0].TrimEnd('.')}): download or build the package again", e);
            }
            catch (IOException e) when (extractTo is null)
            {
                throw new PackageException($"cannot read {path}: {e.Message}", e);
            }
        }
    }

    private static async Task<(PackageManifest, byte[])> ReadAsync(
        FileStream file, string display, PackageFileName fileName, PackageLimits limits, string? extractTo, Action<PackageManifest, byte[]>? vouch, CancellationToken cancellationToken)
    {
        var magic = new byte[2];
        var got = await file.ReadAtLeastAsync(magic, 2, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        file.Position = 0;
        Stream raw = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
        await using var rawOwner = raw.ConfigureAwait(false);
        var counted = new CountingStream(raw, limits.MaxTotalBytes, limit =>
            new PackageException($"{display} is refused: it unpacks to more than {Bytes(limit)} (a possible archive bomb)"));
        var reader = new UstarReader(counted);

        // The manifest comes first, so every later entry is checked against it as it streams by.
        var first = await reader.NextAsync(cancellationToken).ConfigureAwait(false);
        if (first is null || first.Kind != UstarEntryKind.File || StripDot(first.Path) != PackageManifest.FileName)
        {
            throw new PackageException($"{display} is not a coffer package: its first entry is not {PackageManifest.FileName}");
        }

        if (first.Size > limits.MaxManifestBytes)
        {
            throw new PackageException($"{display} is refused: its {PackageManifest.FileName} is larger than {Bytes(limits.MaxManifestBytes)}");
        }

        var json = new MemoryStream((int)first.Size);
        await reader.ReadDataAsync((chunk, ct) => json.WriteAsync(chunk, ct), cancellationToken).ConfigureAwait(false);
        var manifestJson = json.ToArray();
        PackageManifest manifest;
        try
        {
            manifest = PackageManifest.Parse(manifestJson);
        }
        catch (JsonException e)
        {
            throw new PackageException($"{display}: {PackageManifest.FileName} is not a valid manifest ({e.Message.Split('\n')[0]}): rebuild the package with 'coffer pkg build'", e);
        }

        manifest.Validate(display);
        vouch?.Invoke(manifest, manifestJson);
        CheckFileName(display, fileName, manifest);

        var listed = manifest.Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { PackageManifest.FileName };
        var directories = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var entries = 1;
        while (await reader.NextAsync(cancellationToken).ConfigureAwait(false) is { } item)
        {
            if (++entries > limits.MaxEntries)
            {
                throw new PackageException($"{display} is refused: it has more than {limits.MaxEntries} entries");
            }

            var name = StripDot(item.Path);
            if (item.Kind == UstarEntryKind.Directory)
            {
                name = name.TrimEnd('/');
                if (name.Length == 0 || name == ".")
                {
                    continue; // the archive root, as "tar -C dir ." writes it
                }
            }

            if (PackagePath.Problem(name) is { } problem)
            {
                throw new PackageException($"{display} is refused: entry '{PackagePath.Printable(item.Path)}' has {problem}");
            }

            if (item.Kind == UstarEntryKind.Directory)
            {
                if (seen.Contains(name) || !directories.Add(name))
                {
                    throw new PackageException($"{display} is refused: entry '{PackagePath.Printable(name)}' appears twice");
                }

                continue;
            }

            if (!seen.Add(name) || directories.Contains(name))
            {
                throw new PackageException($"{display} is refused: entry '{PackagePath.Printable(name)}' appears twice");
            }

            if (!listed.TryGetValue(name, out var expected))
            {
                throw new PackageException($"{display} is refused: '{PackagePath.Printable(name)}' is in the archive but not listed in {PackageManifest.FileName}");
            }

            if (item.Size > limits.MaxFileBytes)
            {
                throw new PackageException($"{display} is refused: '{name}' is larger than {Bytes(limits.MaxFileBytes)} (a possible archive bomb)");
            }

            if (item.Size != expected.Size)
            {
                throw new PackageException($"{display} is corrupt or altered: '{name}' has {item.Size} bytes, {PackageManifest.FileName} says {expected.Size}: download or build the package again");
            }

            await CopyAndCheckAsync(reader, display, expected, extractTo, cancellationToken).ConfigureAwait(false);
        }

        await reader.DrainAsync(cancellationToken).ConfigureAwait(false);
        if (manifest.Files.FirstOrDefault(f => !seen.Contains(f.Path)) is { } missing)
        {
            throw new PackageException($"{display} is incomplete: '{missing.Path}' is listed in {PackageManifest.FileName} but missing from the archive: download or build the package again");
        }

        if (directories.FirstOrDefault(d => seen.Contains(d)) is { } clash)
        {
            throw new PackageException($"{display} is refused: '{clash}' is both a file and a directory");
        }

        if (extractTo is not null)
        {
            await DurableFile.WriteAsync(Path.Combine(extractTo, PackageManifest.FileName), (stream, ct) => stream.WriteAsync(manifestJson, ct).AsTask(), DurableFile.Readable, cancellationToken).ConfigureAwait(false);
        }

        return (manifest, manifestJson);
    }

    private static async Task CopyAndCheckAsync(UstarReader reader, string display, FileManifest expected, string? extractTo, CancellationToken cancellationToken)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (extractTo is null)
        {
            await reader.ReadDataAsync(Hash, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var target = Path.Combine(extractTo, expected.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await DurableFile.WriteAsync(
                target,
                (output, ct) => reader.ReadDataAsync(
                    async (chunk, ct) =>
                    {
                        sha.AppendData(chunk.Span);
                        await output.WriteAsync(chunk, ct).ConfigureAwait(false);
                    },
                    ct).AsTask(),
                DurableFile.Readable,
                cancellationToken).ConfigureAwait(false);
        }

        if (Convert.ToHexStringLower(sha.GetHashAndReset()) != expected.Sha256)
        {
            throw new PackageException($"{display} is corrupt or altered: '{expected.Path}' does not match its sha256 in {PackageManifest.FileName}: download or build the package again");
        }

        ValueTask Hash(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
        {
            sha.AppendData(chunk.Span);
            return ValueTask.CompletedTask;
        }
    }

    private static void CheckFileName(string display, PackageFileName fileName, PackageManifest manifest)
    {
        var expected = PackageFileName.Of(manifest);
        string? part = fileName.Name != expected.Name ? $"name '{fileName.Name}' but the manifest says '{expected.Name}'"
            : fileName.Version != expected.Version ? $"version {fileName.Version} but the manifest says {expected.Version}"
            : fileName.Os != expected.Os || fileName.Arch != expected.Arch ? $"platform {fileName.Os}/{fileName.Arch} but the manifest says {expected.Os}/{expected.Arch}"
            : null;
        if (part is not null)
        {
            throw new PackageException($"{display} is refused: its file name says {part}: use the package under its original name, {expected}");
        }
    }

    /// <summary>
    /// Writes a package: the manifest first, then each listed file from <paramref name="sourceDirectory"/>,
    /// as a gzip'd ustar archive with fixed owners, modes and times so the same input gives the same bytes.
    /// </summary>
    /// <param name="output">Receives the package.</param>
    /// <param name="manifest">The manifest; its file list says what to take from <paramref name="sourceDirectory"/>.</param>
    /// <param name="sourceDirectory">Where the listed files are.</param>
    /// <param name="cancellationToken">Cancels writing.</param>
    /// <returns>A task that completes when the package is written.</returns>
    public static async Task WriteAsync(Stream output, PackageManifest manifest, string sourceDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(sourceDirectory);
        var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true);
        await using (gzip.ConfigureAwait(false))
        {
            var tar = new UstarWriter(gzip);
            var json = manifest.ToJson();
            await tar.WriteFileAsync(PackageManifest.FileName, json.Length, new MemoryStream(json), cancellationToken).ConfigureAwait(false);
            foreach (var file in manifest.Files)
            {
                var content = new FileStream(Path.Combine(sourceDirectory, file.Path), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous);
                await using (content.ConfigureAwait(false))
                {
                    await tar.WriteFileAsync(file.Path, content.Length, content, cancellationToken).ConfigureAwait(false);
                }
            }

            await tar.FinishAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // The reader's refusals, in a package's words.
    private static PackageException Refused(string display, TarFormatException e) => e.Problem switch
    {
        TarProblem.NotAnArchive or TarProblem.EmptyArchive or TarProblem.NotUstar =>
            new($"{display} is not a coffer package ({e.Message}): check that you have the right file", e),
        TarProblem.NotRegular => new($"{display} is refused: entry '{PackagePath.Printable(e.Entry!)}' {e.Message}; packages hold regular files only", e),
        TarProblem.Extension => new($"{display} is refused: entry '{PackagePath.Printable(e.Entry!)}' {e.Message}; write the package as ustar (tar --format=ustar)", e),
        TarProblem.Truncated => new($"{display} is truncated ({e.Message}): download or build the package again", e),
        _ => new($"{display} is corrupt ({e.Message}): download or build the package again", e),
    };

    // "tar -C dir ." names entries "./x"; the package path is "x".
    private static string StripDot(string path) => path.StartsWith("./", StringComparison.Ordinal) ? path[2..] : path;

    internal static string Bytes(long bytes) => bytes >= 1L << 30 && bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB"
        : bytes >= 1L << 20 && bytes % (1L << 20) == 0 ? $"{bytes >> 20} MiB"
        : $"{bytes} bytes";
}
