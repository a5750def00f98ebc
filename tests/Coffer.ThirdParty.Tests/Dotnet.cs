using System.Diagnostics;
using Coffer.TestSupport;

namespace Coffer.ThirdParty.Tests;

/// <summary>Runs the <c>dotnet</c> CLI the way a third party's shell would, not the way this test run was started.</summary>
internal static class Dotnet
{
    public static async Task<CofferResult> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        Clean(info.Environment);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return await CofferProcess.RunAsync(info, $"dotnet {string.Join(' ', args)}", TimeSpan.FromMinutes(5));
    }

    /// <summary>Makes an environment for child builds: this test may run inside MSBuild or the test host.</summary>
    private static void Clean(IDictionary<string, string?> environment)
    {
        // MSBuild's own variables, inherited from a `dotnet test` that started us, would point the
        // child at this run's MSBuild instead of its own SDK resolution.
        foreach (var key in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "MSBuildLoadMicrosoftTargetsReadOnly" })
        {
            environment.Remove(key);
        }

        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // No build nodes or servers left behind once the test is over.
        environment["MSBUILDDISABLENODEREUSE"] = "1";
        environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
    }
}
