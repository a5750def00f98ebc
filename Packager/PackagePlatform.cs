using System.Runtime.InteropServices;

namespace Coffer.Packager;

/// <summary>
/// Operating system and architecture names as packages spell them (Go's spelling: <c>linux</c>,
/// <c>darwin</c>, <c>amd64</c>, <c>arm64</c>), and <c>any</c> for a package without native code.
/// </summary>
public static class PackagePlatform
{
    /// <summary>The name that matches every operating system or architecture.</summary>
    public const string Any = "any";

    /// <summary>This machine's operating system.</summary>
    public static string CurrentOs { get; } =
        OperatingSystem.IsLinux() ? "linux"
        : OperatingSystem.IsMacOS() ? "darwin"
        : OperatingSystem.IsWindows() ? "windows"
        : OperatingSystem.IsFreeBSD() ? "freebsd"
        : RuntimeInformation.OSDescription.Split(' ')[0].ToLowerInvariant();

    /// <summary>This machine's architecture.</summary>
    public static string CurrentArch { get; } = RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.X86 => "386",
        Architecture.Arm => "arm",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>Tells whether a package built for <paramref name="os"/>/<paramref name="arch"/> runs here.</summary>
    /// <param name="os">The package's operating system.</param>
    /// <param name="arch">The package's architecture.</param>
    /// <returns>True when each is <see cref="Any"/> or this machine's.</returns>
    public static bool RunsHere(string os, string arch) =>
        (os == Any || os == CurrentOs) && (arch == Any || arch == CurrentArch);
}
