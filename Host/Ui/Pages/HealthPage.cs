using System.Globalization;
using Coffer.Engine.Core;
using Coffer.Engine.Operations.Check;
using Microsoft.AspNetCore.Http;

namespace Coffer.Ui.Pages;

/// <summary><c>/health</c>: what <c>info</c> shows of the store, and a <c>check</c> (fast or full) started as a job with progress.</summary>
internal static class HealthPage
{
    public static async Task ShowAsync(UiState state, HttpContext context)
    {
        var store = state.Store;
        var ct = context.RequestAborted;
        var snapshots = await store.ListSnapshotsAsync(ct).ConfigureAwait(false);
        var packs = await store.ListPacksAsync(ct).ConfigureAwait(false);
        var packBytes = packs.Values.Sum();
        var blobs = store.Index.Blobs.Select(b => b.Value).ToList();
        var data = blobs.Where(b => b.Type == BlobType.Data).ToList();
        var unique = data.Sum(b => (long)b.RawLength);
        var logical = snapshots.Sum(s => s.Summary.Bytes);
        var config = store.Config;
        var encryption = config.Encryption is null ? "none (plaintext)" : $"{config.Encryption.Algorithm}, keys wrapped with argon2id";
        var ratio = (unique == 0 ? 1.0 : (double)logical / unique).ToString("0.00", CultureInfo.InvariantCulture);
        var tokens = state.Antiforgery.GetAndStoreTokens(context);
        var body = Html.Of($"""
            <table id="info">
            <tr><th>Store</th><td class="mono">{config.Id}</td></tr>
            <tr><th>Location</th><td>{store.Description}</td></tr>
            <tr><th>Format</th><td>{config.Format}, created {Page.Time(config.Created)} UTC</td></tr>
            <tr><th>Encryption</th><td>{encryption}</td></tr>
            <tr><th>Snapshots</th><td>{snapshots.Count}</td></tr>
            <tr><th>Packs</th><td>{packs.Count}, {Page.Size(packBytes)}</td></tr>
            <tr><th>Blobs</th><td>{data.Count} data, {blobs.Count - data.Count} trees</td></tr>
            <tr><th>Content</th><td>{Page.Size(logical)} in all snapshots, {Page.Size(unique)} unique (dedup ratio {ratio})</td></tr>
            </table>
            <h2>Check</h2>
            <form method="post" action="/check" id="check">
            {Page.AntiforgeryField(tokens)}
            <label><input type="radio" name="mode" value="fast" checked> fast (every blob indexed and its pack present; reads no content)</label><br>
            <label><input type="radio" name="mode" value="full"> full (reads and verifies every pack)</label><br>
            <button type="submit">Check the store</button>
            </form>
            """);
        await Page.WriteAsync(context, "Store health", body).ConfigureAwait(false);
    }

    public static async Task StartCheckAsync(UiState state, HttpContext context)
    {
        await state.Antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var fast = form["mode"].ToString() switch
        {
            "fast" => true,
            "full" => false,
            var other => throw new UiInputException($"'{other}' is not a kind of check: choose fast or full"),
        };
        var checker = new Checker(state.Store);
        var job = state.Jobs.Start(
            fast ? "Fast check" : "Full check",
            () => $"{checker.FilesChecked} files checked",
            ct => state.WithReadLockAsync(async () =>
            {
                var snapshots = await state.Store.ListSnapshotsAsync(ct).ConfigureAwait(false);
                var result = await checker.RunAsync(snapshots, fast, ct).ConfigureAwait(false);
                if (result.Problems.Count > 0)
                {
                    var problems = string.Join("; ", result.Problems.Take(5).Select(p => p.ToString()));
                    throw new UiInputException($"check failed: {result.Problems.Count} problems: {problems}{(result.Problems.Count > 5 ? "; …" : "")}");
                }

                return $"check ok: {snapshots.Count} snapshots, {result.FilesChecked} files{(fast ? "" : $", {result.BlobsChecked} blobs verified")}";
            }, ct));
        context.Response.Redirect(JobPage.Url(job));
    }
}
