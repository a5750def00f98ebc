using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Coffer.Ui;

namespace Coffer.Cli;

/// <summary><c>coffer [at STORE] ui</c>: the web interface on the store, on loopback, behind a printed access token (docs/ui.md).</summary>
internal static class UiCommand
{
    public const string Name = "ui";

    /// <summary>Where the interface listens unless told otherwise: loopback only.</summary>
    public const string DefaultListen = "127.0.0.1:8484";

    public static Command Create(CliContext context, Option<string?> passphraseFile)
    {
        var listen = new Option<string>("--listen", "-listen") { Description = $"HOST:PORT to listen on ({DefaultListen} by default; port 0 takes a free one). Anything but loopback lets other machines reach it.", DefaultValueFactory = _ => DefaultListen };
        var noOpen = new Option<bool>("--no-open", "-no-open") { Description = "Do not open a browser (it is opened only where a desktop session runs)." };
        var command = new Command(Name, "Browse, search, compare, restore and check the store in a web browser.") { listen, noOpen };
        command.SetAction(async (parse, ct) =>
        {
            var endpoint = ParseListen(parse.GetValue(listen)!);
            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
                {
                    signal.Cancel = true;
                    stop.Cancel();
                });
                var settings = new UiSettings
                {
                    Store = store,
                    Time = context.Time,
                    HostName = Environment.MachineName,
                    UnlockHint = StoreReferences.Hint(context, "unlock"),
                    OpenDestination = (reference, token) => context.Catalog.CreateDestinationAsync(StoreReferences.ResolveDestination(context, reference), token),
                };
                if (!IPAddress.IsLoopback(endpoint.Address))
                {
                    await context.Error.WriteLineAsync($"coffer: warning: listening on {endpoint}, not loopback: anyone who can reach it and learns the token can read every backup");
                }

                await UiServer.RunAsync(settings, endpoint, AccessToken.CreateRandom(), url =>
                {
                    context.Output.WriteLine($"coffer ui listening at {url}");
                    context.Output.WriteLine("open that URL (it holds the access token); press Ctrl+C to stop");
                    context.Output.Flush();
                    if (!parse.GetValue(noOpen))
                    {
                        OpenBrowser(url);
                    }
                }, stop.Token);
                await context.Error.WriteLineAsync("coffer: ui stopped");
                return ExitCodes.Success;
            }, ct);
        });
        return command;
    }

    /// <summary>HOST:PORT, HOST an IP address (IPv6 in brackets) or localhost.</summary>
    internal static IPEndPoint ParseListen(string text)
    {
        var colon = text.LastIndexOf(':');
        var host = colon < 0 ? "" : text[..colon].Trim('[', ']');
        if (colon > 0 && ushort.TryParse(text[(colon + 1)..], out var port))
        {
            if (host == "localhost")
            {
                return new IPEndPoint(IPAddress.Loopback, port);
            }

            if (IPAddress.TryParse(host, out var address))
            {
                return new IPEndPoint(address, port);
            }
        }

        throw new CliFailure($"--listen '{text}' is not HOST:PORT: give e.g. {DefaultListen} (an IP address or localhost, and a port)", ExitCodes.Usage);
    }

    // Only where a desktop runs. The URL goes through a private file, not the opener's command line,
    // which every local user can read in the process list (Jupyter does the same).
    private static void OpenBrowser(Uri url)
    {
        if (Environment.GetEnvironmentVariable("DISPLAY") is null && Environment.GetEnvironmentVariable("WAYLAND_DISPLAY") is null)
        {
            return;
        }

        try
        {
            var file = Path.Combine(Path.GetTempPath(), $"coffer-ui-{Environment.ProcessId}.html");
            using (var stream = new FileStream(file, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write($"<!doctype html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={WebUtility.HtmlEncode(url.ToString())}\"><title>coffer ui</title>");
            }

            using var opener = Process.Start(new ProcessStartInfo("xdg-open", [file]) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true });
        }
        catch (Exception e) when (e is Win32Exception or IOException or UnauthorizedAccessException)
        {
            // No opener: the printed URL is enough.
        }
    }
}
