using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Find;
using Microsoft.AspNetCore.Http;

namespace Coffer.Ui.Pages;

/// <summary><c>/search</c>: the <c>find</c> operation (a glob over names, or whole paths, in all snapshots or one).</summary>
internal static class SearchPage
{
    /// <summary>The most matches one page lists.</summary>
    public const int MaxMatches = 1000;

    public static async Task ShowAsync(UiState state, HttpContext context)
    {
        var query = context.Request.Query;
        var pattern = query["q"].ToString().Trim();
        var chosen = query["snapshot"].ToString();
        var wholePath = query["wholepath"].Count > 0;
        var ignoreCase = query["icase"].Count > 0;
        var ct = context.RequestAborted;
        var snapshots = await state.Store.ListSnapshotsAsync(ct).ConfigureAwait(false);
        var form = Html.Of($"""
            <form method="get" action="/search" id="search">
            <label>Pattern <input name="q" id="q" value="{pattern}" placeholder="*.txt" size="30"></label>
            <label>In {Page.SnapshotSelect("snapshot", snapshots, chosen.Length == 0 ? null : chosen, allowAll: true)}</label>
            <label><input type="checkbox" name="wholepath" value="1"{Checked(wholePath)}> match whole paths (docs/**/*.txt)</label>
            <label><input type="checkbox" name="icase" value="1"{Checked(ignoreCase)}> ignore case</label>
            <button type="submit">Search</button>
            </form>
            """);
        if (pattern.Length == 0)
        {
            await Page.WriteAsync(context, "Search", form).ConfigureAwait(false);
            return;
        }

        if (!wholePath && pattern.Contains('/', StringComparison.Ordinal))
        {
            throw new UiInputException($"the pattern '{pattern}' holds a '/' and a name never does: tick 'match whole paths' to match it against paths");
        }

        var selected = chosen.Length > 0 ? [await state.Store.FindSnapshotAsync(chosen, ct).ConfigureAwait(false)] : snapshots;
        var findQuery = new FindQuery { Patterns = [pattern], WholePath = wholePath, IgnoreCase = ignoreCase };
        var rows = new List<Html>();
        var more = false;
        await foreach (var match in new SnapshotFind(state.Store).FindAsync(selected, findQuery, ct).ConfigureAwait(false))
        {
            if (rows.Count == MaxMatches)
            {
                more = true;
                break;
            }

            rows.Add(Html.Of($"""
                <tr><td class="mono">{match.Snapshot.ShortId}</td><td><a href="{BrowsePage.BrowseUrl(match.Snapshot, match.Path)}">{match.Path}</a></td>
                <td>{match.Node.Kind}</td><td class="n">{(match.Node.Kind == Node.DirectoryKind ? "" : Page.Size(match.Node.Size))}</td><td>{Page.Time(match.Node.Mtime)}</td></tr>
                """));
        }

        var count = more ? Html.Of($"<p>The first {MaxMatches} matches; narrow the pattern or choose one snapshot to see the rest.</p>") : Html.Of($"<p>{rows.Count} matches.</p>");
        var results = rows.Count == 0 ? Html.Empty : Html.Of($"""
            <table id="matches"><thead><tr><th>Snapshot</th><th>Path</th><th>Kind</th><th class="n">Size</th><th>Modified (UTC)</th></tr></thead><tbody>{Html.Join(rows)}</tbody></table>
            """);
        await Page.WriteAsync(context, "Search", Html.Of($"{form}{count}{results}")).ConfigureAwait(false);
    }

    private static Html Checked(bool on) => on ? new Html(" checked") : Html.Empty;
}
