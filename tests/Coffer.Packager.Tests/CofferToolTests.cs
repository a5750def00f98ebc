using System.Diagnostics;
using Coffer.Packager.Tests.Support;
using Coffer.TestSupport;

namespace Coffer.Packager.Tests;

/// <summary>coffer as a .NET tool: 'dotnet pack' of the executable, 'dotnet tool install' from that directory, then the tool at work.</summary>
public class CofferToolTests
{
    [Test]
    public async Task The_packed_tool_installs_from_a_directory_lists_packages_and_backs_up()
    {
        using var root = new TemporaryDirectory("pkg-tool");
        var feed = root.Combine("feed");
        var tools = root.Combine("tools");

        // The solution is built: pack what is there. A private NuGet cache, so no earlier coffer package is reused.
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = root.Combine("nuget"), ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" };
        await Run("dotnet", environment, "pack", Path.Combine(RepositoryPaths.Root, "Host", "Cli", "Coffer.Cli.csproj"), "-c", RepositoryPaths.Configuration, "--no-build", "-o", feed);
        Assert.That(Directory.GetFiles(feed, "coffer.*.nupkg"), Has.Length.EqualTo(1));
        await Run("dotnet", environment, "tool", "install", "coffer", "--tool-path", tools, "--add-source", feed);

        var coffer = Path.Combine(tools, "coffer");
        environment["COFFER_DATA_DIR"] = root.Combine("data");
        environment["COFFER_CONFIG_DIR"] = root.Combine("config");
        Assert.That((await Run(coffer, environment, "pkg", "list")).Output, Does.StartWith("no packages installed"));
        await Run(coffer, environment, "pkg", "add", "--allow-unsigned", await BuiltPackages.PosixAsync());
        Assert.That((await Run(coffer, environment, "pkg", "list")).Output, Does.StartWith("posix"));

        var source = root.Combine("source");
        Directory.CreateDirectory(source);
        await File.WriteAllTextAsync(Path.Combine(source, "hello.txt"), "hello from the tool");
        var store = root.Combine("store");
        await Run(coffer, environment, "at", store, "create", "--plaintext");
        await Run(coffer, environment, "at", store, "backup", source);
        var restored = root.Combine("restored");
        await Run(coffer, environment, "at", store, "restore", "-to", restored, "latest");
        Assert.That(await File.ReadAllTextAsync(Path.Combine(restored, "hello.txt")), Is.EqualTo("hello from the tool"));
    }

    private static async Task<CofferResult> Run(string program, Dictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var result = await CofferProcess.RunAsync(info, $"{Path.GetFileName(program)} {string.Join(' ', args)}", TimeSpan.FromMinutes(5));
        Assert.That(result.ExitCode, Is.Zero, $"{program} {string.Join(' ', args)}: {result}");
        return result;
    }
}
