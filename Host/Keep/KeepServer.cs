using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Coffer.Keep;

/// <summary>Kestrel serving the Keep API, plus the background workers, for as long as the token allows.</summary>
internal static class KeepServer
{
    /// <summary>The slowest request body served: 32 KiB/s, a 64 MiB block in 35 minutes.</summary>
    public const double MinBodyBytesPerSecond = 32 * 1024;

    /// <summary>How long a body may come slower than <see cref="MinBodyBytesPerSecond"/> before the rate is enforced.</summary>
    public static readonly TimeSpan BodyRateGracePeriod = TimeSpan.FromSeconds(5);

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="api">The request handler.</param>
    /// <param name="workers">The background workers.</param>
    /// <param name="listen">The <c>-listen</c> address.</param>
    /// <param name="loggerFactory">Where the server logs.</param>
    /// <param name="announce">Receives the address actually bound (useful with port 0).</param>
    /// <param name="cancellationToken">Stops the server.</param>
    /// <returns>A task that completes when the server has stopped.</returns>
    public static async Task RunAsync(KeepHttpApi api, KeepWorkers workers, string listen, ILoggerFactory loggerFactory, Action<string> announce, CancellationToken cancellationToken)
    {
        var endpoint = ParseListen(listen);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "coffer" });
        builder.Services.AddLogging();
        builder.Services.Replace(ServiceDescriptor.Singleton(loggerFactory));
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // The handler checks Content-Length against the 64 MiB block limit itself, before reading.
            kestrel.Limits.MaxRequestBodySize = null;

            // A request holding a block buffer must keep its body coming: below this rate (after a grace period) it ends
            // with 408 and gives the buffer back, so clients trickling bodies cannot starve the rest (docs/reliability.md).
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(MinBodyBytesPerSecond, BodyRateGracePeriod);

            // A streamed block is flushed in 256 KiB steps; Kestrel's default 64 KiB response buffer would make
            // every flush wait for the socket to drain, so reading and hashing the next step could not overlap it.
            kestrel.Limits.MaxResponseBufferSize = 1024 * 1024;
            if (endpoint is null)
            {
                // ":port", like Go's net.Listen: every address, IPv4 and IPv6.
                kestrel.ListenAnyIP(ListenPort(listen), o => o.Protocols = HttpProtocols.Http1);
            }
            else
            {
                kestrel.Listen(endpoint, o => o.Protocols = HttpProtocols.Http1);
            }
        });

        var app = builder.Build();
        await using (app.ConfigureAwait(false))
        {
            app.Run(api.HandleAsync);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new KeepConfigurationException($"cannot listen on {listen}: {e.Message}", e);
            }

            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
            announce(bound is null ? listen : new Uri(bound).Authority);

            var background = workers.RunAsync(cancellationToken);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Asked to stop.
            }

            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await app.StopAsync(grace.Token).ConfigureAwait(false);
            await background.ConfigureAwait(false);
        }
    }

    /// <summary>Reads <c>host:port</c> or <c>[v6]:port</c>, as Go's <c>net.Listen</c> takes them; null for <c>:port</c> (every address).</summary>
    internal static IPEndPoint? ParseListen(string listen)
    {
        var port = ListenPort(listen);
        var host = listen[..listen.LastIndexOf(':')].Trim('[', ']');
        if (host.Length == 0)
        {
            return null;
        }

        if (IPAddress.TryParse(host, out var address))
        {
            return new IPEndPoint(address, port);
        }

        try
        {
            var resolved = Dns.GetHostAddresses(host);
            var chosen = resolved.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? resolved.FirstOrDefault()
                ?? throw new KeepConfigurationException($"-listen {listen}: {host} has no address");
            return new IPEndPoint(chosen, port);
        }
        catch (SocketException e)
        {
            throw new KeepConfigurationException($"-listen {listen}: cannot resolve {host}: {e.Message}", e);
        }
    }

    private static int ListenPort(string listen)
    {
        var colon = listen.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(listen.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port > IPEndPoint.MaxPort)
        {
            throw new KeepConfigurationException($"-listen {listen}: give host:port or :port, e.g. :25107 or 127.0.0.1:25107");
        }

        return port;
    }
}
