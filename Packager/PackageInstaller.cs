using Coffer.Abstractions;
using Coffer.Packager.Internal;
using Coffer.Packager.Signing;
using Coffer.Plumbing;

namespace Coffer.Packager;

/// <summary>What <c>PackageInstaller.AddAsync</c> did.</summary>
/// <param name="Package">The package now installed.</param>
/// <param name="Replaced">The manifest of the package it replaced, or null for a fresh install.</param>
public sealed record InstallResult(InstalledPackage Package, PackageManifest? Replaced);

/// <summary>
/// Installs, lists and removes packages in <see cref="CofferPaths.PluginsDirectory"/>. A package is
/// verified whole before anything there changes; it is then unpacked into a staging directory, flushed,
/// renamed to a version directory and switched in by atomically replacing the package's link. Replaced
/// and removed versions stay on disk for <see cref="PackageInstallerOptions.RetiredGracePeriod"/>, so a
/// running coffer that loaded them keeps its files. See docs/packages.md.
/// </summary>
public sealed class PackageInstaller
{
    /// <summary>The directory of complete package versions, inside the plugins directory.</summary>
    public const string VersionsDirectoryName = ".versions";

    private const string LockName = ".lock";
    private const string StagingPrefix = ".staging-";
    private const string LinkPrefix = ".link-";

    private readonly PackageInstallerOptions _options;

    /// <summary>Creates an installer for the packages under <paramref name="paths"/>.</summary>
    /// <param name="paths">Where coffer keeps its files.</param>
    /// <param name="options">Limits and retention; defaults when null.</param>
    public PackageInstaller(CofferPaths paths, PackageInstallerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        PluginsDirectory = paths.PluginsDirectory;
        _options = options ?? new PackageInstallerOptions();
    }

    /// <summary>The plugins directory this installer manages.</summary>
    public string PluginsDirectory { get; }

    private string VersionsDirectory => Path.Combine(PluginsDirectory, VersionsDirectoryName);

    /// <summary>The installed packages, ordered by name; unreadable ones are left out.</summary>
    /// <returns>The packages.</returns>
    public IReadOnlyList<InstalledPackage> List() => InstalledPackage.List(PluginsDirectory);

    /// <summary>Finds an installed package by name.</summary>
    /// <param name="name">The package name.</param>
    /// <returns>The package, or null when it is not installed.</returns>
    public InstalledPackage? Find(string name) => List().FirstOrDefault(p => p.Manifest.Name == name);

    /// <summary>
    /// Installs a package file. Everything is checked before the install directory is touched: the
    /// archive and manifest (<see cref="PackageArchive.VerifyAsync"/>), the platform and ABI, another
    /// version of the package, and schemes other packages already provide.
    /// </summary>
    /// <param name="packagePath">The <c>.ptar</c> file.</param>
    /// <param name="upgrade">Replace an installed version of the package (newer or older).</param>
    /// <param name="cancellationToken">Cancels the installation; nothing is switched in after cancellation.</param>
    /// <returns>What was installed and what it replaced.</returns>
    /// <exception cref="PackageException">The package is refused; the install directory is unchanged.</exception>
    public Task<InstallResult> AddAsync(string packagePath, bool upgrade = false, CancellationToken cancellationToken = default) =>
        AddAsync(packagePath, new PackageAddOptions { Upgrade = upgrade }, cancellationToken);

    /// <summary>
    /// Installs a package file as <see cref="AddAsync(string, bool, CancellationToken)"/> does, with a
    /// caller's check of the manifest (a signature, a repository's entry) before anything is installed, and
    /// the package's signature recorded next to its manifest (<see cref="PackageSignature.InstalledFileName"/>).
    /// </summary>
    /// <param name="packagePath">The <c>.ptar</c> file.</param>
    /// <param name="options">Upgrade, the check and the signature to record.</param>
    /// <param name="cancellationToken">Cancels the installation; nothing is switched in after cancellation.</param>
    /// <returns>What was installed and what it replaced.</returns>
    /// <exception cref="PackageException">The package is refused; the install directory is unchanged.</exception>
    public async Task<InstallResult> AddAsync(string packagePath, PackageAddOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(packagePath);
        ArgumentNullException.ThrowIfNull(options);
        var display = Path.GetFileName(packagePath);
        var (manifest, json) = await PackageArchive.ReadAsync(packagePath, _options.Limits, null, cancellationToken, options.Vouch).ConfigureAwait(false);
        CheckRunsHere(display, manifest);
        CheckAgainstInstalled(display, manifest, options.Upgrade);
        try
        {
            return await InstallAsync(packagePath, display, manifest, json, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk or a read-only data directory: say where, not a stack trace.
            throw new PackageException($"cannot install {display} into {PluginsDirectory}: {e.Message}", e);
        }
    }

    private async Task<InstallResult> InstallAsync(string packagePath, string display, PackageManifest manifest, byte[] json, PackageAddOptions options, CancellationToken cancellationToken)
    {
        var upgrade = options.Upgrade;
        Directory.CreateDirectory(PluginsDirectory);
        using var installLock = await LockAsync(cancellationToken).ConfigureAwait(false);

        // Checked again under the lock: another coffer may have installed something meanwhile.
        var replaced = CheckAgainstInstalled(display, manifest, upgrade);
        var id = Guid.NewGuid().ToString("N")[..12];
        var staging = Path.Combine(PluginsDirectory, StagingPrefix + id);
        var version = Path.Combine(VersionsDirectory, $"{manifest.Name}_v{manifest.Version}_{id}");
        try
        {
            Directory.CreateDirectory(staging);

            // The second read unpacks and verifies again: the file may have changed since the first.
            var (_, again) = await PackageArchive.ReadAsync(packagePath, _options.Limits, staging, cancellationToken, options.Vouch).ConfigureAwait(false);
            if (!again.AsSpan().SequenceEqual(json))
            {
                throw new PackageException($"{display} changed while it was being installed: try again");
            }

            if (options.Signature is { } signature)
            {
                await DurableFile.WriteAsync(
                    Path.Combine(staging, PackageSignature.InstalledFileName),
                    (stream, ct) => stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(signature.ToLine() + "\n"), ct).AsTask(),
                    DurableFile.Readable,
                    cancellationToken).ConfigureAwait(false);
            }

            FsyncTree(staging);
            Directory.CreateDirectory(VersionsDirectory);
            Directory.Move(staging, version);
            DurableFile.FsyncDirectory(VersionsDirectory);
        }
        catch
        {
            DeleteQuietly(staging);
            throw;
        }

        cancellationToken.ThrowIfCancellationRequested();
        var previous = SwitchLink(manifest.Name, Path.GetFileName(version));
        Retire(previous);
        CleanUp();
        return new InstallResult(new InstalledPackage(manifest, version), replaced?.Manifest);
    }

    /// <summary>
    /// Removes an installed package. Its files stay in a retired directory for the grace period, so a
    /// running coffer that loaded it is not disturbed.
    /// </summary>
    /// <param name="name">The package name.</param>
    /// <param name="cancellationToken">Cancels waiting for the lock.</param>
    /// <returns>The package that was removed.</returns>
    /// <exception cref="PackageException">The package is not installed.</exception>
    public async Task<InstalledPackage> RemoveAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!PackageManifest.IsValidName(name) || Find(name) is null)
        {
            throw new PackageException($"package '{PackagePath.Printable(name)}' is not installed: see 'coffer pkg list'");
        }

        try
        {
            return await RemoveLockedAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PackageException($"cannot remove {name} from {PluginsDirectory}: {e.Message}", e);
        }
    }

    private async Task<InstalledPackage> RemoveLockedAsync(string name, CancellationToken cancellationToken)
    {
        using var installLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        var package = Find(name) ?? throw new PackageException($"package '{name}' is not installed: see 'coffer pkg list'");
        var entry = Path.Combine(PluginsDirectory, name);
        var previous = new DirectoryInfo(entry).LinkTarget is null ? MoveIntoVersions(entry, package.Manifest) : package.Directory;
        if (File.Exists(entry) || new FileInfo(entry).LinkTarget is not null)
        {
            File.Delete(entry); // deletes the link, not what it points to
        }

        DurableFile.FsyncDirectory(PluginsDirectory);
        Retire(previous);
        CleanUp();
        return package;
    }

    /// <summary>Checks that a package can run here: its platform and the contracts ABI it was built for.</summary>
    /// <param name="display">Names the package in messages.</param>
    /// <param name="manifest">Its verified manifest.</param>
    /// <exception cref="PackageException">It cannot.</exception>
    public static void CheckRunsHere(string display, PackageManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (!PackagePlatform.RunsHere(manifest.Os, manifest.Arch))
        {
            throw new PackageException(
                $"{display} is built for {manifest.Os}/{manifest.Arch}, this machine is {PackagePlatform.CurrentOs}/{PackagePlatform.CurrentArch}: get the {PackagePlatform.CurrentOs}_{PackagePlatform.CurrentArch} build of {manifest.Name} {manifest.Version}");
        }

        var abi = manifest.AbiVersion!;
        if (!CofferAbi.IsCompatible(abi, CofferAbi.Current))
        {
            throw new PackageException(
                $"{display} is built for contracts ABI {abi}, this coffer provides ABI {CofferAbi.Current}: get a build of {manifest.Name} for ABI {CofferAbi.Current.Major}.x or a newer coffer");
        }
    }

    // Returns the installed version of the same package, if any.
    private InstalledPackage? CheckAgainstInstalled(string display, PackageManifest manifest, bool upgrade)
    {
        var installed = List();
        var same = installed.FirstOrDefault(p => p.Manifest.Name == manifest.Name);
        if (same is not null && !upgrade)
        {
            var what = same.Manifest.Version == manifest.Version ? "reinstall it" : $"replace it with {manifest.Version}";
            throw new PackageException($"{manifest.Name} {same.Manifest.Version} is already installed: to {what}, run 'coffer pkg add -u {display}'");
        }

        foreach (var other in installed.Where(p => p.Manifest.Name != manifest.Name))
        {
            foreach (var connector in manifest.Connectors)
            {
                if (other.Manifest.Connectors.Any(c => c.Kind == connector.Kind && c.Scheme == connector.Scheme))
                {
                    throw new PackageException(
                        $"{display} is refused: its {connector.Kind.ToString().ToLowerInvariant()} connector '{connector.Scheme}' is already provided by package '{other.Manifest.Name}': remove that package first ('coffer pkg remove {other.Manifest.Name}')");
                }
            }
        }

        return same;
    }

    // Points <plugins>/<name> at the version directory in one rename; returns the directory it pointed at before.
    private string? SwitchLink(string name, string versionName)
    {
        var entry = Path.Combine(PluginsDirectory, name);
        var info = new DirectoryInfo(entry);
        string? previous = null;
        if (info.LinkTarget is not null)
        {
            previous = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        }
        else if (info.Exists)
        {
            // A package laid out by hand as a plain directory: a link cannot be renamed over a directory,
            // so the directory moves aside first (the only non-atomic step, and only once).
            previous = MoveIntoVersions(entry, PackageManifest.Parse(File.ReadAllBytes(Path.Combine(entry, PackageManifest.FileName))));
        }

        var link = Path.Combine(PluginsDirectory, LinkPrefix + Guid.NewGuid().ToString("N")[..12]);
        File.CreateSymbolicLink(link, Path.Combine(VersionsDirectoryName, versionName));
        Posix.Rename(link, entry);
        DurableFile.FsyncDirectory(PluginsDirectory);
        return previous;
    }

    private string MoveIntoVersions(string directory, PackageManifest manifest)
    {
        Directory.CreateDirectory(VersionsDirectory);
        var target = Path.Combine(VersionsDirectory, $"{manifest.Name}_v{manifest.Version}_{Guid.NewGuid().ToString("N")[..12]}");
        Directory.Move(directory, target);
        return target;
    }

    // A retired version's directory time records when it was retired; CleanUp deletes it after the grace period.
    private void Retire(string? directory)
    {
        if (directory is not null && Directory.Exists(directory))
        {
            Directory.SetLastWriteTimeUtc(directory, _options.Time.GetUtcNow().UtcDateTime);
        }
    }

    /// <summary>Deletes retired versions and leftovers of interrupted installs older than the grace period. Call under the lock.</summary>
    private void CleanUp()
    {
        var now = _options.Time.GetUtcNow().UtcDateTime;
        bool Old(FileSystemInfo info) => now - info.LastWriteTimeUtc >= _options.RetiredGracePeriod;

        var current = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in new DirectoryInfo(PluginsDirectory).EnumerateFileSystemInfos())
        {
            if (entry.LinkTarget is not null && entry.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            {
                current.Add(target.FullName);
            }

            if ((entry.Name.StartsWith(StagingPrefix, StringComparison.Ordinal) || entry.Name.StartsWith(LinkPrefix, StringComparison.Ordinal)) && Old(entry))
            {
                DeleteQuietly(entry.FullName);
            }
        }

        if (!Directory.Exists(VersionsDirectory))
        {
            return;
        }

        foreach (var version in new DirectoryInfo(VersionsDirectory).EnumerateDirectories())
        {
            if (!current.Contains(version.FullName) && Old(version))
            {
                DeleteQuietly(version.FullName);
            }
        }
    }

    private async Task<IDisposable> LockAsync(CancellationToken cancellationToken)
    {
        var deadline = _options.Time.GetUtcNow() + _options.LockTimeout;
        while (true)
        {
            try
            {
                // FileShare.None takes an flock(2) on Unix: advisory, but every coffer honours it.
                return new FileStream(Path.Combine(PluginsDirectory, LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (_options.Time.GetUtcNow() < deadline)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new PackageException($"another 'coffer pkg' is changing {PluginsDirectory}: try again when it has finished", e);
            }
        }
    }

    private static void FsyncTree(string directory)
    {
        foreach (var child in Directory.EnumerateDirectories(directory))
        {
            FsyncTree(child);
        }

        DurableFile.FsyncDirectory(directory);
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            if (new FileInfo(path).LinkTarget is not null || File.Exists(path))
            {
                File.Delete(path);
            }
            else if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next clean-up; it is hidden from discovery by its leading dot.
        }
    }
}
