using System.Diagnostics;
using Coffer.Engine.Repository.Crypto;
using Coffer.TestSupport;
using NUnit.Framework;

namespace Coffer.TestSupport;

/// <summary>A coffer process with the Posix plugin installed by hand in its private data directory.</summary>
internal static class CofferCli
{
    public static CofferProcess WithPosix(TemporaryDirectory root)
    {
        var coffer = CofferProcess.In(root);
        coffer.Environment[StoreKeys.TestKdfVariable] = "1";
        InstallBundled(coffer, "Posix", "posix");
        return coffer;
    }

    /// <summary>Installs a bundled plugin's build output into the coffer's data directory, declaring the connectors it registers.</summary>
    public static void InstallBundled(CofferProcess coffer, string project, string name) =>
        InstalledPlugins.InstallBuildOutput(coffer.DataDirectory, name, RepositoryPaths.BundledPluginEntry(project));

    /// <summary>A coffer with the Posix plugin and a plaintext store created at <c>store</c> in <paramref name="root"/>.</summary>
    public static async Task<(CofferProcess Coffer, string Store)> WithPlaintextStoreAsync(TemporaryDirectory root)
    {
        var coffer = WithPosix(root);
        var store = root.Combine("store");
        var created = await coffer.RunAsync("at", store, "create", "--plaintext");
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        return (coffer, store);
    }

    public static async Task<CofferResult> RunAsync(this CofferProcess coffer, params string[] args) =>
        await coffer.RunAsync(args, TimeSpan.FromMinutes(3));

    /// <summary>Runs coffer and samples its peak resident set (VmHWM) until it exits.</summary>
    public static async Task<(CofferResult Result, long PeakBytes)> RunMeasuringAsync(this CofferProcess coffer, params string[] args)
    {
        using var process = Process.Start(coffer.StartInfo(args))!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        long peak = 0;
        var status = $"/proc/{process.Id}/status";
        while (!process.HasExited)
        {
            try
            {
                // VmHWM only grows: the last value read before exit is the peak.
                foreach (var line in await File.ReadAllLinesAsync(status))
                {
                    if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    {
                        peak = Math.Max(peak, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024);
                    }
                }
            }
            catch (IOException)
            {
                break; // exited between the check and the read
            }

            await Task.Delay(25);
        }

        await process.WaitForExitAsync();
        return (new CofferResult(process.ExitCode, await output, await error), peak);
    }

    /// <summary>Asserts a refusal: non-zero exit, exactly one line on stderr starting with "coffer: ".</summary>
    public static void AssertOneLineFailure(CofferResult result, string expected)
    {
        Assert.That(result.ExitCode, Is.Not.Zero, result.ToString());
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), result.ToString());
        Assert.That(lines[0], Does.StartWith("coffer: ").And.Contain(expected), result.ToString());
    }
}
