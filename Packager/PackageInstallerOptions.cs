namespace Coffer.Packager;

/// <summary>How <see cref="PackageInstaller"/> reads packages and keeps retired copies.</summary>
public sealed class PackageInstallerOptions
{
    /// <summary>Bounds on what reading a package may consume.</summary>
    public PackageLimits Limits { get; init; } = PackageLimits.Default;

    /// <summary>
    /// How long a replaced or removed package's files stay on disk. A coffer process that loaded the
    /// package before it was replaced may still resolve one of its assemblies lazily; 24 hours by default.
    /// </summary>
    public TimeSpan RetiredGracePeriod { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How long to wait for another <c>coffer pkg</c> that is changing the install directory.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock retirement is measured with.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>How one package is added by <see cref="PackageInstaller.AddAsync(string, PackageAddOptions, CancellationToken)"/>.</summary>
public sealed class PackageAddOptions
{
    /// <summary>Replace an installed version of the package (newer or older).</summary>
    public bool Upgrade { get; init; }

    /// <summary>
    /// Sees the verified manifest and its exact bytes as each read of the package finds them, before the file
    /// name is checked and before anything is written; throws a <see cref="PackageException"/> to refuse.
    /// </summary>
    public Action<PackageManifest, byte[]>? Vouch { get; init; }

    /// <summary>The package's signature, recorded with the installed package (<c>pkg list --long</c> shows the signer).</summary>
    public Signing.PackageSignature? Signature { get; init; }
}
