using System.Globalization;
using Coffer.Engine.Core.Model;
using Microsoft.AspNetCore.Http;

namespace Coffer.Ui.Pages;

/// <summary><c>/</c>: the snapshots (time, host, source, tags, size, files), filtered by tag, host and source, and a calendar of when backups ran.</summary>
internal static class SnapshotsPage
{
    public static async Task ShowAsync(UiState state, HttpContext context)
    {
        var query = context.Request.Query;
        string? tag = Trimmed(query["tag"]), host = Trimmed(query["host"]), source = Trimmed(query["source"]);
        var filter = new SnapshotFilter
        {
            TagSets = tag is null ? [] : [tag.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
            Hosts = host is null ? [] : [host],
            Sources = source is null ? [] : [source],
        };
        var all = await state.Store.ListSnapshotsAsync(context.RequestAborted).ConfigureAwait(false);
        var shown = all.Where(filter.Matches).OrderByDescending(s => s.Time).ToList();

        var rows = shown.Select(s => Html.Of($"""
            <tr><td>{Page.Time(s.Time)}</td><td class="mono"><a href="{Page.Url("/browse", ("snapshot", s.Id))}">{s.ShortId}</a></td>
            <td>{s.Username}@{s.Hostname}</td><td>{s.Source}</td><td>{string.Join(", ", s.Tags)}</td>
            <td class="n">{Page.Size(s.Summary.Bytes)}</td><td class="n">{s.Summary.Files}</td></tr>
            """));
        var table = shown.Count == 0
            ? Html.Of($"<p class=\"muted\">{(all.Count == 0 ? "The store holds no snapshot yet: make one with coffer backup." : $"No snapshot matches {filter}.")}</p>")
            : Html.Of($"""
                <table id="snapshots"><thead><tr><th>Time (UTC)</th><th>Snapshot</th><th>Host</th><th>Source</th><th>Tags</th><th class="n">Size</th><th class="n">Files</th></tr></thead>
                <tbody>{Html.Join(rows)}</tbody></table>
                """);
        var body = Html.Of($"""
            <form method="get" action="/" id="filter">
            <label>Tag <input name="tag" value="{tag}" placeholder="a,b"></label>
            <label>Host <input name="host" value="{host}"></label>
            <label>Source <input name="source" value="{source}" size="30"></label>
            <button type="submit">Filter</button> <a href="/">clear</a>
            </form>
            <p>{shown.Count} of {all.Count} snapshots.</p>
            {table}
            <h2>When backups ran</h2>
            {Calendar(shown)}
            """);
        await Page.WriteAsync(context, "Snapshots", body).ConfigureAwait(false);
    }

    private static string? Trimmed(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    // One row per month that saw a backup (newest first), one cell per day, shaded by how many ran.
    private static Html Calendar(List<Snapshot> snapshots)
    {
        if (snapshots.Count == 0)
        {
            return Html.Empty;
        }

        var perDay = snapshots.GroupBy(s => DateOnly.FromDateTime(s.Time.UtcDateTime)).ToDictionary(g => g.Key, g => g.Count());
        var months = perDay.Keys.Select(d => new DateOnly(d.Year, d.Month, 1)).Distinct().OrderDescending();
        var header = Html.Join(Enumerable.Range(1, 31).Select(day => Html.Of($"<th class=\"n\">{day}</th>")));
        var rows = months.Select(month =>
        {
            var cells = Enumerable.Range(1, DateTime.DaysInMonth(month.Year, month.Month)).Select(day =>
            {
                var date = new DateOnly(month.Year, month.Month, day);
                var count = perDay.GetValueOrDefault(date);
                return count == 0
                    ? Html.Of($"<td></td>")
                    : Html.Of($"<td class=\"b{Math.Min(count, 3)}\" title=\"{date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}: {count} snapshot(s)\">{count}</td>");
            });
            return Html.Of($"<tr><th>{month.ToString("yyyy-MM", CultureInfo.InvariantCulture)}</th>{Html.Join(cells)}</tr>");
        });
        return Html.Of($"<table class=\"cal\" id=\"calendar\"><tr><th></th>{header}</tr>{Html.Join(rows)}</table>");
    }
}
