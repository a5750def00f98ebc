using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Coffer.TestSupport;
using NUnit.Framework;

namespace Coffer.TestSupport;

/// <summary>The made-up secrets the keepstore tests run with; each test asserts none of them reaches the log.</summary>
internal static class KeepTestSecrets
{
    public const string DataManagerToken = "datamanagertoken0123456789abcdefghijklmnopqrstuv";
    public const string UserToken = "usertoken0123456789abcdefghijklmnopqrstuvwxyz0123";
    public const string PermissionKey = "permissionkey0123456789abcdefghijklmnopqrstuvwxyz";

    /// <summary>Writes a file only its owner can read, as keepstore's documentation asks for key files.</summary>
    public static string WritePrivateFile(string path, string content)
    {
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }
}

/// <summary>
/// A running <c>coffer keepstore</c> on a loopback port the server picks itself (<c>-listen 127.0.0.1:0</c>),
/// found from its "listening at" line, so tests never race for ports.
/// </summary>
internal sealed class KeepstoreProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    private readonly Process _process;
    private readonly StringBuilder _log;

    private KeepstoreProcess(Process process, StringBuilder log, Uri baseAddress)
    {
        _process = process;
        _log = log;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

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

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>A coffer with its own data directory holding the bundled posix and azblob plugins.</summary>
    public static CofferProcess CofferWithPlugins(TemporaryDirectory root)
    {
        var coffer = CofferProcess.In(root);
        InstalledPlugins.InstallBuildOutput(coffer.DataDirectory, "posix", RepositoryPaths.BundledPluginEntry("Posix"));
        InstalledPlugins.InstallBuildOutput(coffer.DataDirectory, "azblob", RepositoryPaths.BundledPluginEntry("AzBlob"));
        return coffer;
    }

    public static Task<KeepstoreProcess> StartAsync(CofferProcess coffer, params string[] flags) => StartInAsync(coffer, null, flags);

    /// <summary>Starts the server with <paramref name="workingDirectory"/> as its current directory (for relative paths in flags).</summary>
    public static async Task<KeepstoreProcess> StartInAsync(CofferProcess coffer, string? workingDirectory, params string[] flags)
    {
        var args = new List<string> { "keepstore" };
        args.AddRange(flags);
        if (!flags.Contains("-listen"))
        {
            args.AddRange(["-listen", "127.0.0.1:0"]);
        }

        var info = coffer.StartInfo([.. args]);
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        var process = Process.Start(info)!;
        process.StandardInput.Close();
        var log = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (log)
            {
                log.AppendLine(line);
            }

            const string marker = "keepstore listening at ";
            var at = line.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                listening.TrySetResult(line[(at + marker.Length)..].Trim());
            }
        }

        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        var exited = process.WaitForExitAsync();
        var winner = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(90)));
        if (winner != listening.Task)
        {
            await Task.Delay(200);
            var output = log.ToString();
            process.Kill(entireProcessTree: true);
            throw new AssertionException($"coffer keepstore did not start ({(winner == exited ? $"exit {process.ExitCode}" : "timeout")}):\n{output}");
        }

        return new KeepstoreProcess(process, log, new Uri($"http://{await listening.Task}/"));
    }

    /// <summary>Runs <c>coffer keepstore</c> expecting it to refuse its command line.</summary>
    public static Task<CofferResult> RunToFailureAsync(CofferProcess coffer, params string[] flags) =>
        coffer.RunAsync(["keepstore", .. flags], TimeSpan.FromSeconds(60));

    public async Task<HttpResponseMessage> PutAsync(string hash, byte[] data, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(BaseAddress, hash)) { Content = new ByteArrayContent(data) };
        Authorize(request, token);
        return await Http.SendAsync(request);
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token = null, HttpContent? content = null, string scheme = "OAuth2")
    {
        using var request = new HttpRequestMessage(method, new Uri(BaseAddress, path)) { Content = content };
        Authorize(request, token, scheme);
        return await Http.SendAsync(request);
    }

    /// <summary>PUTs a block and returns the locator the server answered, failing the test on anything but 200.</summary>
    public async Task<string> PutBlockAsync(byte[] data, string? token = null)
    {
        using var response = await PutAsync(Md5(data), data, token);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(200), $"PUT answered {body}\n{Log}");
        Assert.That(body, Does.EndWith("\n"));
        return body.TrimEnd('\n');
    }

    /// <summary>GETs a block, returning the status and the content.</summary>
    public async Task<(int Status, byte[] Content)> GetBlockAsync(string locator, string? token = null)
    {
        using var response = await SendAsync(HttpMethod.Get, locator, token);
        return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>GETs a block; null when the server cut the response off (a body short of its Content-Length, or none).</summary>
    public async Task<(int Status, byte[] Content)?> GetBlockOrCutOffAsync(string locator, string? token = null)
    {
        try
        {
            return await GetBlockAsync(locator, token);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    public static string Md5(byte[] data) => Coffer.Abstractions.BlockHash.Compute(data);

    public static byte[] RandomBlock(int size)
    {
        var data = new byte[size];
        Random.Shared.NextBytes(data);
        return data;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        SecretLeaks.Record("coffer keepstore", Log);
    }

    private static void Authorize(HttpRequestMessage request, string? token, string scheme = "OAuth2")
    {
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue(scheme, token);
        }
    }
}
