namespace Coffer.Packager;

/// <summary>
/// Bounds on what reading a package may consume, so a hostile archive (a "zip bomb") is refused before it
/// fills the disk or the memory. Sizes are counted on the uncompressed bytes as they are read; headers
/// are never trusted.
/// </summary>
public sealed class PackageLimits
{
    /// <summary>The limits <c>coffer pkg</c> uses: 1 GiB in all, 512 MiB per file, 10,000 entries, 1 MiB of manifest.</summary>
    public static PackageLimits Default { get; } = new();

    /// <summary>The most uncompressed bytes the whole archive may hold (headers and padding included).</summary>
    public long MaxTotalBytes { get; init; } = 1L << 30;

    /// <summary>The largest file the archive may hold.</summary>
    public long MaxFileBytes { get; init; } = 512L << 20;

    /// <summary>The most entries (files and directories) the archive may hold.</summary>
    public int MaxEntries { get; init; } = 10_000;

    /// <summary>The largest <c>manifest.json</c> accepted.</summary>
    public int MaxManifestBytes { get; init; } = 1 << 20;
}
