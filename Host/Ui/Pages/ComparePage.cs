using Coffer.Engine.Operations.Diff;
using Microsoft.AspNetCore.Http;

namespace Coffer.Ui.Pages;

/// <summary><c>/compare</c>: the <c>diff</c> operation on two snapshots (or a path in each), shown as a tree of added, removed and modified entries.</summary>
internal static class ComparePage
{
    /// <summary>The most changes one page shows.</summary>
    public const int MaxChanges = 5000;

    public static async Task ShowAsync(UiState state, HttpContext context)
    {
        var query = context.Request.Query;
        var ct = context.RequestAborted;
        var snapshots = (await state.Store.ListSnapshotsAsync(ct).ConfigureAwait(false)).OrderByDescending(s => s.Time).ToList();
        string before = query["a"].ToString(), after = query["b"].ToString();
        var form = Html.Of($"""
            <form method="get" action="/compare" id="compare">
            <p><label>Before {Page.SnapshotSelect("a", snapshots, before.Length > 0 ? before : snapshots.Skip(1).FirstOrDefault()?.Id)}</label>
            <label>path <input name="apath" value="{query["apath"].ToString()}" placeholder="(the whole snapshot)"></label></p>
            <p><label>After {Page.SnapshotSelect("b", snapshots, after.Length > 0 ? after : snapshots.FirstOrDefault()?.Id)}</label>
            <label>path <input name="bpath" value="{query["bpath"].ToString()}" placeholder="(the whole snapshot)"></label></p>
            <button type="submit">Compare</button>
            </form>
            """);
        if (before.Length == 0 || after.Length == 0)
        {
            await Page.WriteAsync(context, "Compare", form).ConfigureAwait(false);
            return;
        }

        var a = await state.Store.FindSnapshotAsync(before, ct).ConfigureAwait(false);
        var b = await state.Store.FindSnapshotAsync(after, ct).ConfigureAwait(false);
        string pathA = SnapshotPath.Normalize(query["apath"]), pathB = SnapshotPath.Normalize(query["bpath"]);
        var nodeA = await state.Store.ResolveAsync(a, pathA, ct).ConfigureAwait(false);
        var nodeB = await state.Store.ResolveAsync(b, pathB, ct).ConfigureAwait(false);

        var root = new Folder();
        int count = 0, added = 0, removed = 0, modified = 0;
        var more = false;
        await foreach (var change in new SnapshotDiff(state.Store).ChangesAsync(nodeA, nodeB, pathB, ct).ConfigureAwait(false))
        {
            if (count++ == MaxChanges)
            {
                more = true;
                break;
            }

            _ = change.Marker switch { '+' => added++, '-' => removed++, _ => modified++ };
            var relative = pathB.Length == 0 ? change.Path : change.Path[Math.Min(change.Path.Length, pathB.Length + 1)..];
            if (relative.Length == 0)
            {
                continue; // The compared directories themselves (their mode or owner): counted, not a tree entry.
            }

            root.Add(relative.Split('/'), change);
        }

        var summary = Html.Of($"""
            <p id="diff-summary">{Page.Label(a)} → {Page.Label(b)}: <span class="added">{added} added</span>, <span class="removed">{removed} removed</span>, <span class="modified">{modified} modified</span>{(more ? $" (the first {MaxChanges} changes)" : "")}.</p>
            """);
        var tree = count == 0 ? Html.Of($"<p>No differences.</p>") : Html.Of($"<ul class=\"tree\" id=\"diff\">{root.Render(b, pathB)}</ul>");
        await Page.WriteAsync(context, "Compare", Html.Of($"{form}{summary}{tree}")).ConfigureAwait(false);
    }

    // The changes arranged by directory: a directory that holds changes is shown even when it did not change itself.
    private sealed class Folder
    {
        private readonly SortedDictionary<string, Folder> _children = new(StringComparer.Ordinal);

        private DiffChange? Change { get; set; }

        public void Add(ReadOnlySpan<string> segments, DiffChange change)
        {
            if (!_children.TryGetValue(segments[0], out var child))
            {
                child = new Folder();
                _children.Add(segments[0], child);
            }

            if (segments.Length == 1)
            {
                child.Change = change;
            }
            else
            {
                child.Add(segments[1..], change);
            }
        }

        public Html Render(Engine.Core.Model.Snapshot after, string parent) => Html.Join(_children.Select(pair =>
        {
            var (name, folder) = pair;
            var path = SnapshotPath.Join(parent, name);
            var change = folder.Change;
            var (css, marker) = change?.Marker switch { '+' => ("added", "+"), '-' => ("removed", "−"), 'M' => ("modified", "M"), _ => ("", "") };
            var what = change is { What.Count: > 0 } ? Html.Of($" <span class=\"muted\">({string.Join(", ", change.What)})</span>") : Html.Empty;
            var label = change?.Marker == '-'
                ? Html.Of($"<span class=\"{css}\">{marker} {name}</span>{what}")
                : Html.Of($"<span class=\"{css}\">{marker} <a href=\"{BrowsePage.BrowseUrl(after, path)}\">{name}</a></span>{what}");
            return folder._children.Count == 0
                ? Html.Of($"<li>{label}</li>")
                : Html.Of($"<li><details open><summary>{label}</summary><ul class=\"tree\">{folder.Render(after, path)}</ul></details></li>");
        }));
    }
}
