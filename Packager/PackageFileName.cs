namespace Coffer.Packager;

/// <summary>
/// The parts of a package file name, <c>NAME_vVERSION_OS_ARCH.ptar</c> (e.g. <c>azblob_v1.0.0_linux_amd64.ptar</c>).
/// Parsing checks the shape only; the manifest is the authority on each part, and a package whose file
/// name disagrees with its manifest is refused.
/// </summary>
/// <param name="Name">The package name.</param>
/// <param name="Version">The package version, without the <c>v</c>.</param>
/// <param name="Os">The operating system, or <c>any</c>.</param>
/// <param name="Arch">The architecture, or <c>any</c>.</param>
public sealed record PackageFileName(string Name, string Version, string Os, string Arch)
{
    /// <summary>The file extension of packages.</summary>
    public const string Extension = ".ptar";

    /// <summary>The file name these parts make.</summary>
    /// <returns>The file name, e.g. <c>azblob_v1.0.0_linux_amd64.ptar</c>.</returns>
    public override string ToString() => $"{Name}_v{Version}_{Os}_{Arch}{Extension}";

    /// <summary>The file name a manifest's package is written under.</summary>
    /// <param name="manifest">The manifest.</param>
    /// <returns>The parts.</returns>
    public static PackageFileName Of(PackageManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return new(manifest.Name, manifest.Version, manifest.Os, manifest.Arch);
    }

    /// <summary>Splits a file name (or path) into its parts.</summary>
    /// <param name="path">The file name or a path ending in it.</param>
    /// <param name="fileName">The parts when the name has the right shape.</param>
    /// <returns>True when the name has the shape <c>NAME_vVERSION_OS_ARCH.ptar</c>.</returns>
    public static bool TryParse(string path, out PackageFileName? fileName)
    {
        fileName = null;
        var name = Path.GetFileName(path ?? "");
        if (!name.EndsWith(Extension, StringComparison.Ordinal))
        {
            return false;
        }

        // Neither a package name nor a semver version may contain '_', so the split is unambiguous.
        var parts = name[..^Extension.Length].Split('_');
        if (parts.Length != 4 || parts.Any(p => p.Length == 0) || parts[1].Length < 2 || parts[1][0] != 'v')
        {
            return false;
        }

        fileName = new(parts[0], parts[1][1..], parts[2], parts[3]);
        return true;
    }
}
