using System.Diagnostics;
using System.Net;
using System.Text;
using Coffer.TestSupport;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Coffer.Ui.Tests;

/// <summary>
/// What every UI test shares, made once: an encrypted store with two snapshots of a generated tree, a
/// running <c>coffer ui</c> on it, and one headless chromium (Debian's, installed here when missing)
/// that has opened the printed URL, so it holds the access cookie.
/// </summary>
[SetUpFixture]
public sealed class UiFixture
{
    public const string Passphrase = "correct horse battery staple ui";
    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriver = "/usr/bin/chromedriver";

    private static TemporaryDirectory? _root;
    private static Process? _server;
    private static readonly StringBuilder ServerOutput = new();

    public static TemporaryDirectory Root => _root!;

    public static CofferProcess Coffer { get; private set; } = null!;

    public static string Store => Root.Combine("store");

    /// <summary>The tree as the second snapshot saw it (and still is).</summary>
    public static string Source => Root.Combine("source");

    public static string FirstSnapshot { get; private set; } = "";

    public static string SecondSnapshot { get; private set; } = "";

    /// <summary>The URL coffer ui printed, token included.</summary>
    public static Uri StartUrl { get; private set; } = null!;

    public static Uri BaseUrl => new(StartUrl.GetLeftPart(UriPartial.Authority) + "/");

    public static ChromeDriver Browser { get; private set; } = null!;

    public static string Downloads => Root.Combine("downloads");

    public static string ServerLog
    {
        get
        {
            lock (ServerOutput)
            {
                return ServerOutput.ToString();
            }
        }
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        await EnsureChromiumAsync();
        _root = new TemporaryDirectory("coffer-ui");
        Coffer = CofferCli.WithPosix(Root);
        Coffer.Environment["COFFER_PASSPHRASE"] = Passphrase;
        Expect(await Coffer.RunAsync("at", Store, "create"));

        TreeAssert.BuildSample(Source);
        Directory.CreateDirectory(Path.Combine(Source, "many"));
        for (var i = 0; i < 1200; i++)
        {
            File.WriteAllText(Path.Combine(Source, "many", $"f{i:D4}.txt"), $"entry {i}\n");
        }

        File.WriteAllBytes(Path.Combine(Source, "pixel.png"), Convert.FromBase64String(OnePixelPng));
        FirstSnapshot = SnapshotId(Expect(await Coffer.RunAsync("at", Store, "backup", Source, "--tag", "first")));

        // The second snapshot: two files added (one deep down), one removed, one changed.
        File.WriteAllText(Path.Combine(Source, "added.txt"), "new in the second snapshot\n");
        File.WriteAllText(Path.Combine(Source, "docs", "deep", "er", "note.txt"), "added deep down\n");
        File.Delete(Path.Combine(Source, "run.sh"));
        File.WriteAllText(Path.Combine(Source, "readme.txt"), "hello coffer, changed\n");
        SecondSnapshot = SnapshotId(Expect(await Coffer.RunAsync("at", Store, "backup", Source, "--tag", "second")));

        StartUrl = await StartServerAsync();
        Directory.CreateDirectory(Downloads);
        Browser = StartBrowser(Downloads);
        Browser.Navigate().GoToUrl(StartUrl);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        Browser?.Quit();
        Browser?.Dispose();
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            _server.WaitForExit();
        }

        _server?.Dispose();
        _root?.Dispose();
    }

    /// <summary>An absolute URL of the interface.</summary>
    public static string Url(string relative) => new Uri(BaseUrl, relative).ToString();

    /// <summary>An HTTP client holding the access cookie the browser got (for downloads compared byte by byte).</summary>
    public static HttpClient AuthorizedClient()
    {
        var cookies = new CookieContainer();
        foreach (var cookie in Browser.Manage().Cookies.AllCookies)
        {
            cookies.Add(BaseUrl, new System.Net.Cookie(cookie.Name, cookie.Value));
        }

        return new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = BaseUrl };
    }

    public static CofferResult Expect(CofferResult result)
    {
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return result;
    }

    private static string SnapshotId(CofferResult backup) =>
        backup.Output.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipWhile(word => word != "snapshot").Skip(1).First();

    private static async Task<Uri> StartServerAsync()
    {
        var info = Coffer.StartInfo("at", Store, "ui", "--listen", "127.0.0.1:0", "--no-open");
        _server = Process.Start(info)!;
        _server.StandardInput.Close();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (ServerOutput)
            {
                ServerOutput.AppendLine(line);
            }

            const string marker = "coffer ui listening at ";
            if (line.StartsWith(marker, StringComparison.Ordinal))
            {
                listening.TrySetResult(new Uri(line[marker.Length..].Trim()));
            }
        }

        _server.OutputDataReceived += (_, e) => OnLine(e.Data);
        _server.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        var winner = await Task.WhenAny(listening.Task, _server.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        if (winner != listening.Task)
        {
            throw new AssertionException($"coffer ui did not start:\n{ServerLog}");
        }

        return await listening.Task;
    }

    private static ChromeDriver StartBrowser(string downloads)
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriver)!, Path.GetFileName(ChromeDriver));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments(
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--window-size=1280,900", $"--user-data-dir={Root.Combine("chromium-profile")}");
        options.AddUserProfilePreference("download.default_directory", downloads);
        options.AddUserProfilePreference("download.prompt_for_download", false);
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    // A fresh machine has no browser: the tests install Debian's (we run as root here), as .ci/run does.
    private static async Task EnsureChromiumAsync()
    {
        if (File.Exists(Chromium) && File.Exists(ChromeDriver))
        {
            return;
        }

        foreach (var args in new[] { "update", "install -y chromium chromium-driver" })
        {
            var info = new ProcessStartInfo("apt-get", args) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            var result = await CofferProcess.RunAsync(info, $"apt-get {args}", TimeSpan.FromMinutes(10));
            Assert.That(result.ExitCode, Is.Zero, $"apt-get {args} failed:\n{result}");
        }
    }

    // A valid 1x1 PNG, so the image preview has a real image to show.
    private const string OnePixelPng = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
}
