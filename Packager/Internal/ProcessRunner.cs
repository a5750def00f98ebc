using System.Diagnostics;
using System.Text;

namespace Coffer.Packager.Internal;

/// <summary>Runs a tool to completion and captures what it prints.</summary>
internal static class ProcessRunner
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";

        // A coffer started from a test or another tool may carry MSBuild's own variables; they would
        // point the child build at the wrong SDK pieces.
        foreach (var key in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath" })
        {
            info.Environment.Remove(key);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new PackageException($"cannot start {fileName}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new PackageException($"cannot start {fileName}: {e.Message}: install the .NET SDK", e);
        }

        using (process)
        {
            process.StandardInput.Close();
            var output = new StringBuilder();
            var readOut = PumpAsync(process.StandardOutput, output);
            var readErr = PumpAsync(process.StandardError, output);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            await Task.WhenAll(readOut, readErr).ConfigureAwait(false);
            lock (output)
            {
                return (process.ExitCode, output.ToString());
            }
        }
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder sink)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            lock (sink)
            {
                sink.AppendLine(line);
            }
        }
    }
}
