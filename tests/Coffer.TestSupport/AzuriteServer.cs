using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;

namespace Coffer.TestSupport;

/// <summary>
/// A real Azurite blob server on a free loopback port, installed from the npm lock file under
/// tests/azurite with <c>npm ci</c> when missing. One server per test process, started on first use
/// and stopped when the process exits. It serves two accounts, so multi-account tests are real.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>The well-known key of <see cref="AccountName"/> (public, from Azurite's documentation).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>A second account, for tests that mix accounts.</summary>
    public const string SecondAccountName = "coffersecond";

    /// <summary>The key of <see cref="SecondAccountName"/> (made up for these tests).</summary>
    public const string SecondAccountKey = "c2Vjb25kLWFjY291bnQta2V5LWZvci1jb2ZmZXItdGVzdHMtb25seS0wMTIzNDU2Nzg5YWJjZGVm";

    private static readonly SemaphoreSlim StartLock = new(1, 1);
    private static AzuriteServer? _shared;
    private readonly Process _process;
    private readonly StringBuilder _log;

    private AzuriteServer(Process process, int port, StringBuilder log)
    {
        _process = process;
        Port = port;
        _log = log;
    }

    public int Port { get; }

    /// <summary>The blob endpoint of the default account, path-style.</summary>
    public Uri BlobEndpoint => EndpointOf(AccountName);

    public string ConnectionString => ConnectionStringOf(AccountName, AccountKey);

    public Uri EndpointOf(string account) => new($"http://127.0.0.1:{Port}/{account}");

    public string ConnectionStringOf(string account, string key) =>
        $"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};BlobEndpoint={EndpointOf(account)};";

    public BlobServiceClient CreateServiceClient() => new(ConnectionString);

    /// <summary>A new empty container with a unique name in the default account.</summary>
    public async Task<BlobContainerClient> CreateContainerAsync(string prefix = "test", BlobServiceClient? service = null)
    {
        var container = (service ?? CreateServiceClient()).GetBlobContainerClient($"{prefix}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)]);
        await container.CreateAsync();
        return container;
    }

    /// <summary>The server shared by every test in this process.</summary>
    public static async Task<AzuriteServer> GetSharedAsync()
    {
        await StartLock.WaitAsync();
        try
        {
            if (_shared is null || _shared._process.HasExited)
            {
                _shared = await StartAsync();
                AppDomain.CurrentDomain.ProcessExit += (_, _) => _shared?.Kill();
            }

            return _shared;
        }
        finally
        {
            StartLock.Release();
        }
    }

    /// <summary>Starts a server of its own (for tests that stop or restart it).</summary>
    public static async Task<AzuriteServer> StartAsync()
    {
        var blobMain = await EnsureInstalledAsync();
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            var info = new ProcessStartInfo("node")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { blobMain, "--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--disableTelemetry" })
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["AZURITE_ACCOUNTS"] = $"{AccountName}:{AccountKey};{SecondAccountName}:{SecondAccountKey}";
            var log = new StringBuilder();
            var process = Process.Start(info)!;
            process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new AzuriteServer(process, port, log);
            if (await server.WaitListeningAsync(TimeSpan.FromSeconds(60)))
            {
                return server;
            }

            server.Kill();
            if (attempt == 2)
            {
                throw new InvalidOperationException($"Azurite did not start on 127.0.0.1:{port}:\n{server.Log}");
            }
        }
    }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        return ValueTask.CompletedTask;
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private async Task<bool> WaitListeningAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                return false;
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        return false;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Installs the pinned Azurite with npm ci unless that exact version is there; returns its blob entry script.</summary>
    private static async Task<string> EnsureInstalledAsync()
    {
        var folder = Path.Combine(RepositoryPaths.Root, "tests", "azurite");
        var wanted = PinnedVersion(folder);
        var installed = Path.Combine(folder, "node_modules", "azurite", "package.json");
        var blobMain = Path.Combine(folder, "node_modules", "azurite", "dist", "src", "blob", "main.js");

        // Test projects run in parallel processes: one installs while the others wait on the lock file.
        await using var lockFile = await ProcessLock.AcquireAsync(Path.Combine(folder, ".install.lock"), TimeSpan.FromMinutes(10));
        if (InstalledVersion(installed) == wanted && File.Exists(blobMain))
        {
            return blobMain;
        }

        var info = new ProcessStartInfo("npm", "ci --no-audit --no-fund --loglevel=error")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var npm = Process.Start(info) ?? throw new InvalidOperationException("could not start npm: install Node.js and npm");
        var stdout = npm.StandardOutput.ReadToEndAsync();
        var stderr = npm.StandardError.ReadToEndAsync();
        await npm.WaitForExitAsync();
        if (npm.ExitCode != 0 || InstalledVersion(installed) != wanted || !File.Exists(blobMain))
        {
            throw new InvalidOperationException($"npm ci in {folder} failed (exit {npm.ExitCode}):\n{await stdout}\n{await stderr}");
        }

        return blobMain;
    }

    private static string PinnedVersion(string folder)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "package.json")));
        return document.RootElement.GetProperty("dependencies").GetProperty("azurite").GetString()!;
    }

    private static string? InstalledVersion(string packageJson)
    {
        if (!File.Exists(packageJson))
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(packageJson));
        return document.RootElement.GetProperty("version").GetString();
    }
}
