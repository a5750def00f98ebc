using System.Net;
using Coffer.Engine.Core;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Locks;
using Coffer.Ui.Pages;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Coffer.Ui;

/// <summary>Kestrel serving the interface's pages until the token stops it; every request passes the access token first.</summary>
internal static class UiServer
{
    /// <summary>Serves on <paramref name="endpoint"/> until <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <param name="settings">The store and what the pages need besides.</param>
    /// <param name="endpoint">Where to listen (port 0: any free one).</param>
    /// <param name="token">The access token requests must carry.</param>
    /// <param name="announce">Receives the URL to open, token included, once listening.</param>
    /// <param name="cancellationToken">Stops the server.</param>
    public static async Task RunAsync(UiSettings settings, IPEndPoint endpoint, AccessToken token, Action<Uri> announce, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "coffer-ui" });

        // No logging at all: a request line would carry the token, and nothing here needs a log to be found.
        builder.Services.AddLogging();
        builder.Services.AddRouting();

        // The anti-forgery keys live as long as the process: nothing is written under the user's home.
        builder.Services.AddSingleton<IDataProtectionProvider>(new EphemeralDataProtectionProvider());
        builder.Services.AddAntiforgery(options => options.Cookie.Name = "coffer_ui_antiforgery");
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(endpoint, o => o.Protocols = HttpProtocols.Http1);
        });

        var app = builder.Build();
        await using (app.ConfigureAwait(false))
        {
            var jobs = new UiJobs(cancellationToken);
            var state = new UiState(settings, jobs, app.Services.GetRequiredService<IAntiforgery>());
            app.Use(token.CheckAsync);
            Map(app, "GET", "/", context => SnapshotsPage.ShowAsync(state, context));
            Map(app, "GET", "/browse", context => BrowsePage.ShowAsync(state, context));
            Map(app, "GET", "/raw", context => BrowsePage.RawAsync(state, context));
            Map(app, "GET", "/archive", context => BrowsePage.ArchiveAsync(state, context));
            Map(app, "GET", "/search", context => SearchPage.ShowAsync(state, context));
            Map(app, "GET", "/compare", context => ComparePage.ShowAsync(state, context));
            Map(app, "GET", "/restore", context => RestorePage.ShowAsync(state, context));
            Map(app, "POST", "/restore", context => RestorePage.StartAsync(state, context));
            Map(app, "GET", "/health", context => HealthPage.ShowAsync(state, context));
            Map(app, "POST", "/check", context => HealthPage.StartCheckAsync(state, context));
            Map(app, "GET", "/jobs/{id}", context => JobPage.ShowAsync(state, context));
            app.MapFallback(context => Page.WriteAsync(context, "Not found", Html.Of($"<p class=\"error\">nothing at {context.Request.Path.Value}: start from the snapshots</p>"), StatusCodes.Status404NotFound));

            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
            var authority = bound is null ? endpoint.ToString() : new Uri(bound).Authority;
            announce(new Uri($"http://{authority}/?{AccessToken.QueryName}={token.Value}"));
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Asked to stop.
            }

            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(grace.Token).ConfigureAwait(false);
        }
    }

    // Every page turns a refusal into one line on a page of its own, with the status that fits.
    private static void Map(WebApplication app, string method, string pattern, Func<HttpContext, Task> handler) =>
        app.MapMethods(pattern, [method], async context =>
        {
            try
            {
                await handler(context).ConfigureAwait(false);
            }
            catch (Exception e) when (!context.Response.HasStarted && StatusOf(e) is { } status)
            {
                await Page.WriteAsync(context, status == StatusCodes.Status404NotFound ? "Not found" : "Refused", Html.Of($"<p class=\"error\">{UiJobs.OneLine(e)}</p>"), status).ConfigureAwait(false);
            }
        });

    private static int? StatusOf(Exception e) => e switch
    {
        AntiforgeryValidationException => StatusCodes.Status400BadRequest,
        UiInputException => StatusCodes.Status400BadRequest,
        SnapshotNotFoundException => StatusCodes.Status404NotFound,
        StoreException => StatusCodes.Status500InternalServerError,
        _ => null,
    };
}

/// <summary>What the pages share: the settings, the running jobs, the anti-forgery service.</summary>
internal sealed record UiState(UiSettings Settings, UiJobs Jobs, IAntiforgery Antiforgery)
{
    public CofferStore Store => Settings.Store;

    /// <summary>Runs <paramref name="work"/> holding a read lock, as the command line's restore and check do (a portable store takes none).</summary>
    public async Task<T> WithReadLockAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken)
    {
        if (Store.IsReadOnly)
        {
            return await work().ConfigureAwait(false);
        }

        var held = await StoreLock.AcquireAsync(Store, LockKind.Read, Settings.Time, Settings.HostName, Settings.UnlockHint, cancellationToken).ConfigureAwait(false);
        await using (held.ConfigureAwait(false))
        {
            return await work().ConfigureAwait(false);
        }
    }
}
