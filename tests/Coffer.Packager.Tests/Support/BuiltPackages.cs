using Coffer.TestSupport;

namespace Coffer.Packager.Tests.Support;

/// <summary>
/// Packages built once per test run with the real 'coffer pkg build' (dotnet publish is slow), shared
/// by every test. Tests copy or re-pack them; they never change these files.
/// </summary>
public static class BuiltPackages
{
    private static readonly TemporaryDirectory Output = new("pkg-built");
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly Dictionary<string, string> Built = [];

    static BuiltPackages() => AppDomain.CurrentDomain.ProcessExit += (_, _) => Output.Dispose();

    /// <summary>The test plugin whose source reports the Humanizer 2.14 it loads lazily.</summary>
    public static Task<string> HumanizerOldAsync() => BuildAsync(Path.Combine("tests", "TestPlugins", "Coffer.TestPlugins.HumanizerOld"));

    /// <summary>The bundled directory plugin.</summary>
    public static Task<string> PosixAsync() => BuildAsync("Plugins.Posix");

    /// <summary>The bundled Azure Blob plugin.</summary>
    public static Task<string> AzBlobAsync() => BuildAsync("Plugins.AzBlob");

    /// <summary>Runs 'coffer pkg build' on a project of this checkout once; returns the .ptar.</summary>
    public static async Task<string> BuildAsync(string projectDirectory)
    {
        await Gate.WaitAsync();
        try
        {
            if (Built.TryGetValue(projectDirectory, out var done))
            {
                return done;
            }

            // Builds run one at a time, here and in the other test processes: they share the Abstractions project's Release output.
            await using var release = await ProcessLock.ReleaseBuildAsync();
            using var home = new TemporaryDirectory("pkg-build-home");
            var outDir = Path.Combine(Output.Path, Path.GetFileName(projectDirectory));
            var result = await CofferProcess.In(home).RunAsync(
                ["pkg", "build", Path.Combine(RepositoryPaths.Root, projectDirectory), "-o", outDir], TimeSpan.FromMinutes(5));
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"coffer pkg build {projectDirectory} failed:\n{result}");
            }

            var path = result.Output.Trim();
            Built[projectDirectory] = path;
            return path;
        }
        finally
        {
            Gate.Release();
        }
    }
}
