using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Restore;
using Microsoft.AspNetCore.Http;

namespace Coffer.Ui.Pages;

/// <summary><c>/restore</c>: the restore operation, of a path of a snapshot to a directory or a named destination, as a job with progress.</summary>
internal static class RestorePage
{
    public static async Task ShowAsync(UiState state, HttpContext context)
    {
        var query = context.Request.Query;
        var snapshots = await state.Store.ListSnapshotsAsync(context.RequestAborted).ConfigureAwait(false);
        var chosen = query["snapshot"].ToString();
        var tokens = state.Antiforgery.GetAndStoreTokens(context);
        var body = Html.Of($"""
            <form method="post" action="/restore" id="restore">
            {Page.AntiforgeryField(tokens)}
            <p><label>Snapshot {Page.SnapshotSelect("snapshot", snapshots, chosen.Length > 0 ? chosen : null)}</label></p>
            <p><label>Path in it <input name="path" id="path" value="{SnapshotPath.Normalize(query["path"])}" placeholder="(the whole snapshot)" size="40"></label></p>
            <p><label>To <input name="to" id="to" size="50" placeholder="/a/directory or @destination[:sub]" required></label></p>
            <p class="muted">A directory on this server, a scheme://… location, or a destination named with 'coffer destination add' (@name). Files there with the same names are replaced.</p>
            <button type="submit">Restore</button>
            </form>
            """);
        await Page.WriteAsync(context, "Restore", body).ConfigureAwait(false);
    }

    public static async Task StartAsync(UiState state, HttpContext context)
    {
        await state.Antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var to = form["to"].ToString().Trim();
        if (to.Length == 0)
        {
            throw new UiInputException("no destination: give a directory or @destination to restore to");
        }

        // Refused here, before a job starts, when the snapshot or the path does not exist.
        var snapshot = await state.Store.FindSnapshotAsync(form["snapshot"].ToString(), context.RequestAborted).ConfigureAwait(false);
        var path = SnapshotPath.Normalize(form["path"]);
        await state.Store.ResolveAsync(snapshot, path, context.RequestAborted).ConfigureAwait(false);

        var progress = new BackupProgress();
        var settings = state.Settings;
        var what = path.Length == 0 ? $"snapshot {snapshot.ShortId}" : $"{path} of snapshot {snapshot.ShortId}";
        var job = state.Jobs.Start(
            $"Restore {what} to {to}",
            () => $"{progress.DoneFiles} of {progress.PlannedFiles} files, {Page.Size(progress.DoneBytes)} of {Page.Size(progress.PlannedBytes)} (files still being listed are not counted yet)",
            ct => state.WithReadLockAsync(async () =>
            {
                var destination = await settings.OpenDestination(to, ct).ConfigureAwait(false);
                await using (destination.ConfigureAwait(false))
                {
                    var runner = new RestoreRunner(state.Store, destination, progress);
                    var result = await runner.RunAsync(snapshot, path, ct).ConfigureAwait(false);
                    var incomplete = runner.NotBackedUp.Count + runner.NotRestored.Count + runner.Damaged.Count;
                    return $"restored {result.Files} files, {Page.Size(result.Bytes)} from snapshot {snapshot.ShortId} to {destination.Description}"
                        + (incomplete == 0 ? "" : $"; {incomplete} entries not restored (unreadable at backup or damaged in the store: see 'coffer restore')");
                }
            }, ct));
        context.Response.Redirect(JobPage.Url(job));
    }
}
