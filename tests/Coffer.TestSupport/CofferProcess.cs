using System.Diagnostics;

namespace Coffer.TestSupport;

/// <summary>The result of running coffer.</summary>
public sealed record CofferResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>Runs the built coffer executable in a separate process with a private data and config directory.</summary>
public sealed class CofferProcess
{
    public CofferProcess(string dataDirectory, string configDirectory)
    {
        DataDirectory = dataDirectory;
        ConfigDirectory = configDirectory;
    }

    public string DataDirectory { get; }

    public string ConfigDirectory { get; }

    /// <summary>The cache directory (the stores' index caches), inside the data directory.</summary>
    public string CacheDirectory => Path.Combine(DataDirectory, "cache");

    /// <summary>Extra environment variables for every run.</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>
    /// Runs coffer without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (through setpriv), so that as root, too, a
    /// file with mode 000 is one it cannot read: how tests get an entry a backup cannot read.
    /// </summary>
    public bool WithoutReadOverride { get; set; }

    /// <summary>A coffer with its directories inside <paramref name="root"/>.</summary>
    public static CofferProcess In(TemporaryDirectory root) => new(root.Combine("data"), root.Combine("config"));

    public ProcessStartInfo StartInfo(params string[] args)
    {
        // Through env --default-signal=INT: a test run started as a background job of a non-interactive shell
        // ignores SIGINT, and the ignore is inherited, so the Ctrl-C tests' kill -INT would reach no handler.
        var info = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--default-signal=INT");
        info.ArgumentList.Add(WithoutReadOverride ? "setpriv" : "dotnet");
        if (WithoutReadOverride)
        {
            const string Capabilities = "-dac_override,-dac_read_search";
            info.ArgumentList.Add($"--inh-caps={Capabilities}");
            info.ArgumentList.Add($"--bounding-set={Capabilities}");
            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(RepositoryPaths.CofferDll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["COFFER_DATA_DIR"] = DataDirectory;
        info.Environment["COFFER_CONFIG_DIR"] = ConfigDirectory;
        info.Environment["COFFER_CACHE_DIR"] = CacheDirectory;
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";

        // The start-up JIT profile compiles ahead on an idle core; the suite keeps both cores busy, where it only
        // adds CPU (docs/decisions.md, "Start-up: multi-core JIT"). The test of the profiles turns it back on.
        info.Environment["COFFER_JIT_PROFILE"] = "0";
        foreach (var (key, value) in Environment)
        {
            info.Environment[key] = value;
        }

        return info;
    }

    public CofferResult Run(params string[] args) => RunAsync(args).GetAwaiter().GetResult();

    public Task<CofferResult> RunAsync(string[] args, TimeSpan? timeout = null, string? input = null) =>
        RunAsync(StartInfo(args), $"coffer {string.Join(' ', args)}", timeout ?? TimeSpan.FromMinutes(5), input);

    /// <summary>Runs any process to its end with redirected output; kills its whole tree when it outlives <paramref name="timeout"/>.</summary>
    public static async Task<CofferResult> RunAsync(ProcessStartInfo info, string description, TimeSpan timeout, string? input = null)
    {
        using var process = Process.Start(info)!;
        var readOut = process.StandardOutput.ReadToEndAsync();
        var readErr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }

        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{description} did not finish in {timeout}");
        }

        var result = new CofferResult(process.ExitCode, await readOut, await readErr);
        // Only the command's first words name the source: a leak report must not print arguments that may hold a secret.
        SecretLeaks.Record(string.Join(' ', description.Split(' ').Take(3)), result.Output + "\n" + result.Error);
        return result;
    }
}
