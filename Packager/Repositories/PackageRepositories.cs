using System.Security.Cryptography;
using Coffer.Abstractions;
using Coffer.Packager.Signing;

namespace Coffer.Packager.Repositories;

/// <summary>A verified index and the repository it came from.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Index">Its index, signature, trust, expiry and version checked.</param>
public sealed record VerifiedIndex(RepositoryDefinition Repository, RepositoryIndex Index);

/// <summary>A package found in a repository.</summary>
/// <param name="Repository">Where it is.</param>
/// <param name="Entry">Its index entry.</param>
public sealed record RepositoryPackage(RepositoryDefinition Repository, RepositoryEntry Entry);

/// <summary>
/// Reads repositories (verifying their index), finds packages in them, installs from them and publishes
/// into them. Transports come from the caller, because reaching a connector location needs the plugin
/// catalog, which lives above this library. See docs/packages.md.
/// </summary>
public sealed class PackageRepositories
{
    private readonly RepositoryList _repositories;
    private readonly TrustedKeys _trusted;
    private readonly TimeProvider _time;

    /// <summary>Creates the client.</summary>
    /// <param name="paths">Where coffer keeps its files.</param>
    /// <param name="time">The clock index expiry is checked against.</param>
    public PackageRepositories(CofferPaths paths, TimeProvider time)
    {
        _repositories = new RepositoryList(paths);
        _trusted = new TrustedKeys(paths);
        _time = time ?? throw new ArgumentNullException(nameof(time));
    }

    /// <summary>The longest an index may be signed for: a repository left alone must be re-signed within it.</summary>
    public static readonly TimeSpan DefaultIndexLifetime = TimeSpan.FromDays(30);

    /// <summary>
    /// Reads and verifies a repository's index: signed, by a trusted key, not expired, and no older than
    /// the newest this client has seen (which it then remembers).
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="transport">How to reach it.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The index.</returns>
    /// <exception cref="PackageException">The index is missing, tampered, untrusted, expired or rolled back.</exception>
    public async Task<VerifiedIndex> ReadIndexAsync(RepositoryDefinition repository, IRepositoryTransport transport, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(transport);
        var bytes = await ReadFileAsync(repository.Name, transport, RepositoryLayout.IndexFile, cancellationToken).ConfigureAwait(false)
            ?? throw new PackageException($"repository '{repository.Name}' ({transport.Description}) has no {RepositoryLayout.IndexFile}: check its location, or publish a package into it with 'coffer pkg publish'");
        var opened = SignedDocument.Open(bytes)
            ?? throw new PackageException($"repository '{repository.Name}': its {RepositoryLayout.IndexFile} is tampered or corrupt (the signature does not verify): refused; tell the repository's owner");
        if (!_trusted.Contains(opened.Key))
        {
            throw Untrusted($"repository '{repository.Name}': its {RepositoryLayout.IndexFile}", opened.Key);
        }

        RepositoryIndex index;
        try
        {
            index = RepositoryIndex.Parse(opened.Payload);
        }
        catch (FormatException e)
        {
            throw new PackageException($"repository '{repository.Name}': its {RepositoryLayout.IndexFile} is signed but not an index this coffer reads ({e.Message}): upgrade coffer or tell the repository's owner", e);
        }

        if (index.Expires <= _time.GetUtcNow())
        {
            throw new PackageException($"repository '{repository.Name}': its index expired at {index.Expires.UtcDateTime:yyyy-MM-dd HH:mm}Z (a stale or frozen copy): refused; the owner must publish or re-sign it");
        }

        var seen = _repositories.HighestSeen(repository.Name);
        if (index.Version < seen)
        {
            throw new PackageException($"repository '{repository.Name}': its index is version {index.Version}, older than version {seen} seen before (a rollback): refused; tell the repository's owner");
        }

        _repositories.RememberSeen(repository.Name, index.Version);
        return new VerifiedIndex(repository, index);
    }

    /// <summary>The newest version of a package that runs here (this OS/arch or <c>any</c>, an ABI this coffer accepts).</summary>
    /// <param name="indexes">The verified indexes to look in.</param>
    /// <param name="name">The package name.</param>
    /// <param name="version">A version to pick, or null for the newest.</param>
    /// <returns>The package, or null when none fits.</returns>
    public static RepositoryPackage? Pick(IEnumerable<VerifiedIndex> indexes, string name, string? version) =>
        indexes.SelectMany(i => i.Index.Packages.Select(e => new RepositoryPackage(i.Repository, e)))
            .Where(p => p.Entry.Name == name && (version is null || p.Entry.Version == version) && RunsHere(p.Entry))
            .OrderByDescending(p => p.Entry.Version, SemanticVersionComparer.Instance)
            .FirstOrDefault();

    /// <summary>Tells whether an entry's platform and ABI suit this coffer.</summary>
    /// <param name="entry">The entry.</param>
    /// <returns>True when it would install here.</returns>
    public static bool RunsHere(RepositoryEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return PackagePlatform.RunsHere(entry.Os, entry.Arch) && System.Version.TryParse(entry.Abi, out var abi) && CofferAbi.IsCompatible(abi, CofferAbi.Current);
    }

    /// <summary>
    /// Downloads a package, checks its size and SHA-256 against the index, its manifest against the entry,
    /// and the publisher's signature (by a trusted key) over its manifest, then installs it. Nothing in the
    /// install directory changes unless all of that holds.
    /// </summary>
    /// <param name="package">The package.</param>
    /// <param name="transport">How to reach its repository.</param>
    /// <param name="installer">The install directory.</param>
    /// <param name="upgrade">Replace an installed version.</param>
    /// <param name="cancellationToken">Cancels the installation.</param>
    /// <returns>What was installed.</returns>
    /// <exception cref="PackageException">The package is refused.</exception>
    public async Task<InstallResult> InstallAsync(RepositoryPackage package, IRepositoryTransport transport, PackageInstaller installer, bool upgrade, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(package);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(installer);
        var entry = package.Entry;
        var display = $"{entry.FileName} from repository '{package.Repository.Name}'";
        if (!_trusted.Contains(entry.Signature.Key))
        {
            throw Untrusted(display, entry.Signature.Key);
        }

        var directory = Directory.CreateTempSubdirectory("coffer-download-");
        try
        {
            var path = Path.Combine(directory.FullName, entry.FileName);
            await DownloadAsync(package, transport, path, display, cancellationToken).ConfigureAwait(false);
            return await installer.AddAsync(path, new PackageAddOptions
            {
                Upgrade = upgrade,
                Signature = entry.Signature,
                Vouch = (manifest, json) =>
                {
                    if (manifest.Name != entry.Name || manifest.Version != entry.Version || manifest.Os != entry.Os || manifest.Arch != entry.Arch)
                    {
                        throw new PackageException($"{display} is refused: it holds {manifest.Name} {manifest.Version} ({manifest.Os}/{manifest.Arch}) but the index lists {entry.Name} {entry.Version} ({entry.Os}/{entry.Arch}): tell the repository's owner");
                    }

                    if (!entry.Signature.Covers(json))
                    {
                        throw new PackageException($"{display} is refused: its signature does not verify (tampered package or index): tell the repository's owner");
                    }
                },
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static async Task DownloadAsync(RepositoryPackage package, IRepositoryTransport transport, string path, string display, CancellationToken cancellationToken)
    {
        var entry = package.Entry;
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            bool found;
            try
            {
                found = await transport.ReadAsync(entry.File, file, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or HttpRequestException or ConnectorException)
            {
                throw new PackageException($"cannot download {display}: {e.Message}", e);
            }

            if (!found)
            {
                throw new PackageException($"{display} is listed in the index but missing from the repository: tell the repository's owner");
            }
        }

        var bytes = new FileInfo(path).Length;
        string sha256;
        using (var read = File.OpenRead(path))
        {
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(read, cancellationToken).ConfigureAwait(false));
        }

        if (bytes != entry.Size || sha256 != entry.Sha256)
        {
            throw new PackageException($"{display} is refused: its content does not match the signed index (tampered or corrupt): tell the repository's owner");
        }
    }

    /// <summary>
    /// Publishes a package: verifies it, signs its manifest, writes the package and its entry file, and
    /// rebuilds, signs and writes the index, again until the index covers every entry file present after the
    /// write. Concurrent publishers thus lose nothing without conditional writes: each package has its own
    /// files, and whoever writes the index last has just checked that it covers every entry.
    /// </summary>
    /// <param name="packagePath">The <c>.ptar</c> file.</param>
    /// <param name="transport">The repository (writable).</param>
    /// <param name="key">The publisher's key, which signs the package and the index.</param>
    /// <param name="lifetime">How long the new index is valid.</param>
    /// <param name="cancellationToken">Cancels publishing.</param>
    /// <returns>The entry published and the index version written.</returns>
    /// <exception cref="PackageException">The package is refused, or the same file name holds other content.</exception>
    public async Task<(RepositoryEntry Entry, long IndexVersion)> PublishAsync(string packagePath, IRepositoryTransport transport, SigningKey key, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(packagePath);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(key);
        if (!transport.CanWrite)
        {
            await transport.WriteAsync(RepositoryLayout.IndexFile, Stream.Null, cancellationToken).ConfigureAwait(false); // throws the transport's own refusal
        }

        var (manifest, json) = await PackageArchive.ReadAsync(packagePath, PackageLimits.Default, null, cancellationToken).ConfigureAwait(false);
        string sha256;
        await using (var read = File.OpenRead(packagePath))
        {
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(read, cancellationToken).ConfigureAwait(false));
        }

        var entry = RepositoryEntry.For(manifest, new FileInfo(packagePath).Length, sha256, PackageSignature.Create(key, json));
        var entryPath = RepositoryLayout.EntryFile(entry.FileName);
        if (await ReadFileAsync(transport.Description, transport, entryPath, cancellationToken).ConfigureAwait(false) is { } existing
            && ParseEntry(existing) is { } published && published.Sha256 != sha256)
        {
            throw new PackageException($"{entry.FileName} is already published in {transport.Description} with other content: publish a new version (a published version never changes)");
        }

        await using (var content = File.OpenRead(packagePath))
        {
            await transport.WriteAsync(entry.File, content, cancellationToken).ConfigureAwait(false);
        }

        await transport.WriteAsync(entryPath, new MemoryStream(entry.ToJson()), cancellationToken).ConfigureAwait(false);

        for (var attempt = 0; ; attempt++)
        {
            var names = await transport.ListAsync(RepositoryLayout.EntriesFolder, cancellationToken).ConfigureAwait(false);
            var entries = new List<RepositoryEntry>();
            foreach (var name in names.Where(n => n.EndsWith(".json", StringComparison.Ordinal)))
            {
                if (await ReadFileAsync(transport.Description, transport, $"{RepositoryLayout.EntriesFolder}/{name}", cancellationToken).ConfigureAwait(false) is { } bytes
                    && ParseEntry(bytes) is { } parsed)
                {
                    entries.Add(parsed);
                }
            }

            // The version grows past whatever index is there, signed by anyone: a client only compares versions.
            var current = await ReadFileAsync(transport.Description, transport, RepositoryLayout.IndexFile, cancellationToken).ConfigureAwait(false);
            var version = (current is null ? 0 : VersionOf(current)) + 1;
            var index = new RepositoryIndex(version, _time.GetUtcNow() + lifetime, entries);
            await transport.WriteAsync(RepositoryLayout.IndexFile, new MemoryStream(SignedDocument.Sign(key, index.ToJson())), cancellationToken).ConfigureAwait(false);

            var after = await transport.ListAsync(RepositoryLayout.EntriesFolder, cancellationToken).ConfigureAwait(false);
            if (after.All(names.Contains) || attempt >= 20)
            {
                return (entry, version);
            }
        }
    }

    private static long VersionOf(byte[] document)
    {
        var newline = Array.IndexOf(document, (byte)'\n');
        try
        {
            return newline < 0 ? 0 : RepositoryIndex.Parse(document.AsMemory(newline + 1)).Version;
        }
        catch (FormatException)
        {
            return 0;
        }
    }

    private static RepositoryEntry? ParseEntry(byte[] bytes)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(bytes);
            return RepositoryEntry.Read(document.RootElement);
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            return null; // a damaged entry file is left out of the index
        }
    }

    private static async Task<byte[]?> ReadFileAsync(string where, IRepositoryTransport transport, string path, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        try
        {
            return await transport.ReadAsync(path, buffer, cancellationToken).ConfigureAwait(false) ? buffer.ToArray() : null;
        }
        catch (Exception e) when (e is IOException or HttpRequestException or ConnectorException or UnauthorizedAccessException)
        {
            throw new PackageException($"cannot read {path} of repository '{where}' ({transport.Description}): {e.Message.Split('\n')[0]}", e);
        }
    }

    private static PackageException Untrusted(string what, PublicSigningKey key) =>
        new($"{what} is signed by {key.Text}, a key you do not trust: refused; if it is the publisher's key, run 'coffer pkg trust add {key.Text}'");
}

/// <summary>Orders semantic versions (semver.org 2.0.0 precedence; build metadata is ignored).</summary>
public sealed class SemanticVersionComparer : IComparer<string>
{
    /// <summary>The comparer.</summary>
    public static readonly SemanticVersionComparer Instance = new();

    /// <inheritdoc />
    public int Compare(string? x, string? y)
    {
        var (xCore, xPre) = Split(x ?? "");
        var (yCore, yPre) = Split(y ?? "");
        for (var i = 0; i < 3; i++)
        {
            var c = CompareIdentifier(i < xCore.Length ? xCore[i] : "0", i < yCore.Length ? yCore[i] : "0");
            if (c != 0)
            {
                return c;
            }
        }

        // A pre-release comes before its release.
        if (xPre.Length == 0 || yPre.Length == 0)
        {
            return yPre.Length.CompareTo(xPre.Length);
        }

        for (var i = 0; i < Math.Min(xPre.Length, yPre.Length); i++)
        {
            var c = CompareIdentifier(xPre[i], yPre[i]);
            if (c != 0)
            {
                return c;
            }
        }

        return xPre.Length.CompareTo(yPre.Length);
    }

    private static (string[] Core, string[] Pre) Split(string version)
    {
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0)
        {
            version = version[..plus];
        }

        var dash = version.IndexOf('-', StringComparison.Ordinal);
        return dash < 0 ? (version.Split('.'), []) : (version[..dash].Split('.'), version[(dash + 1)..].Split('.'));
    }

    private static int CompareIdentifier(string a, string b)
    {
        var aNumeric = ulong.TryParse(a, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var an);
        var bNumeric = ulong.TryParse(b, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bn);
        return aNumeric && bNumeric ? an.CompareTo(bn)
            : aNumeric ? -1
            : bNumeric ? 1
            : string.CompareOrdinal(a, b);
    }
}
