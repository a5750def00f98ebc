using System.Globalization;
using System.Text;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Dump;
using Coffer.Engine.Repository;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Coffer.Ui.Pages;

/// <summary>
/// <c>/browse</c>: a snapshot directory by directory (a page of <see cref="PageSize"/> entries at a time),
/// a file with a preview; <c>/raw</c> a file's content, <c>/archive</c> a directory as tar or zip (both
/// through the <c>dump</c> operation).
/// </summary>
internal static class BrowsePage
{
    /// <summary>Entries per page of a directory: a directory of 100,000 entries is 200 pages, not one huge one.</summary>
    public const int PageSize = 500;

    /// <summary>The most of a text file a preview shows.</summary>
    public const int PreviewLimit = 64 * 1024;

    private static readonly Dictionary<string, string> ImageTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".png"] = "image/png",
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".gif"] = "image/gif",
        [".webp"] = "image/webp",
    };

    public static async Task ShowAsync(UiState state, HttpContext context)
    {
        var (snapshot, path, node) = await ResolveAsync(state, context).ConfigureAwait(false);
        var title = path.Length == 0 ? $"Snapshot {snapshot.ShortId}" : SnapshotPath.Name(path);
        var summary = Html.Of($"<p class=\"muted\">{Page.Label(snapshot)} · {snapshot.Username}@{snapshot.Hostname}</p>{Breadcrumbs(snapshot, path)}");
        Html body = node.Kind switch
        {
            Node.DirectoryKind => await DirectoryAsync(state, context, snapshot, path, node).ConfigureAwait(false),
            Node.FileKind => await FileAsync(state, context, snapshot, path, node).ConfigureAwait(false),
            _ => Html.Of($"<p>A symbolic link to <span class=\"mono\">{node.Target}</span>.</p>{Details(node)}"),
        };
        await Page.WriteAsync(context, title, Html.Of($"{summary}{body}")).ConfigureAwait(false);
    }

    /// <summary>A file's content: inline for an image the preview shows, else as a download.</summary>
    public static async Task RawAsync(UiState state, HttpContext context)
    {
        var (snapshot, path, node) = await ResolveAsync(state, context).ConfigureAwait(false);
        if (node.Kind != Node.FileKind)
        {
            throw new UiInputException($"'{path}' in snapshot {snapshot.ShortId} is not a file: download a directory as tar or zip from its page");
        }

        var response = context.Response;
        Page.NoStore(response);
        var image = context.Request.Query["download"].Count == 0 && ImageTypes.TryGetValue(Path.GetExtension(path), out var imageType) ? imageType : null;
        response.ContentType = image ?? "application/octet-stream";
        response.ContentLength = node.Size;
        if (image is null)
        {
            response.Headers.ContentDisposition = Attachment(SnapshotPath.Name(path));
        }

        await new SnapshotDump(state.Store).WriteAsync(snapshot, node, path, DumpFormat.Content, response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A directory (or a file) as a tar or zip stream, as <c>coffer dump --archive</c> writes it.</summary>
    public static async Task ArchiveAsync(UiState state, HttpContext context)
    {
        var (snapshot, path, node) = await ResolveAsync(state, context).ConfigureAwait(false);
        var format = context.Request.Query["format"].ToString() switch
        {
            "tar" => DumpFormat.Tar,
            "zip" => DumpFormat.Zip,
            var other => throw new UiInputException($"'{other}' is not an archive format: ask for tar or zip"),
        };
        var response = context.Response;
        Page.NoStore(response);
        response.ContentType = format == DumpFormat.Tar ? "application/x-tar" : "application/zip";
        var name = path.Length == 0 ? $"snapshot-{snapshot.ShortId}" : SnapshotPath.Name(path);
        response.Headers.ContentDisposition = Attachment($"{name}.{format.ToString().ToLowerInvariant()}");

        // Zip finishes an archive with synchronous writes (its central directory).
        context.Features.Get<IHttpBodyControlFeature>()!.AllowSynchronousIO = true;
        await new SnapshotDump(state.Store).WriteAsync(snapshot, node, path, format, response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The snapshot, the path and the node a request's <c>snapshot</c> and <c>path</c> name.</summary>
    internal static async Task<(Snapshot Snapshot, string Path, Node Node)> ResolveAsync(UiState state, HttpContext context)
    {
        var reference = context.Request.Query["snapshot"].ToString();
        if (reference.Length == 0)
        {
            throw new UiInputException("no snapshot named: choose one from the snapshots page");
        }

        var snapshot = await state.Store.FindSnapshotAsync(reference, context.RequestAborted).ConfigureAwait(false);
        var path = SnapshotPath.Normalize(context.Request.Query["path"]);
        return (snapshot, path, await state.Store.ResolveAsync(snapshot, path, context.RequestAborted).ConfigureAwait(false));
    }

    public static string BrowseUrl(Snapshot snapshot, string path) => Page.Url("/browse", ("snapshot", snapshot.Id), ("path", path));

    private static async Task<Html> DirectoryAsync(UiState state, HttpContext context, Snapshot snapshot, string path, Node node)
    {
        var entries = node.Subtree is { } subtree
            ? (await state.Store.ReadTreeAsync(BlobId.Parse(subtree), context.RequestAborted).ConfigureAwait(false)).Entries
            : [];
        var pages = Math.Max(1, (entries.Count + PageSize - 1) / PageSize);
        var page = int.TryParse(context.Request.Query["page"], NumberStyles.None, CultureInfo.InvariantCulture, out var asked) ? Math.Clamp(asked, 1, pages) : 1;
        var first = (page - 1) * PageSize;
        var rows = entries.Skip(first).Take(PageSize).Select(entry =>
        {
            var entryPath = SnapshotPath.Join(path, entry.Name);
            var (icon, kind) = entry.Kind switch { Node.DirectoryKind => ("📁", "d"), Node.SymlinkKind => ("🔗", "l"), _ => ("📄", "-") };
            var target = entry.Target is null ? Html.Empty : Html.Of($" <span class=\"muted\">→ {entry.Target}</span>");
            return Html.Of($"""
                <tr><td>{icon} <a href="{BrowseUrl(snapshot, entryPath)}">{entry.Name}</a>{target}</td><td class="mono">{kind}{DisplayText.Mode(entry.Mode)}</td>
                <td class="n">{(entry.Kind == Node.DirectoryKind ? "" : Page.Size(entry.Size))}</td><td>{Page.Time(entry.Mtime)}</td></tr>
                """);
        });
        var pager = pages == 1 ? Html.Empty : Html.Of($"""
            <p id="pager">Entries {first + 1}–{Math.Min(first + PageSize, entries.Count)} of {entries.Count} (page {page} of {pages}).
            {PageLink(snapshot, path, 1, page, pages, "first")} {PageLink(snapshot, path, page - 1, page, pages, "previous")} {PageLink(snapshot, path, page + 1, page, pages, "next")} {PageLink(snapshot, path, pages, page, pages, "last")}</p>
            """);
        return Html.Of($"""
            <p>{entries.Count} entries · download as <a id="tar" href="{ArchiveUrl(snapshot, path, "tar")}">tar</a> or <a id="zip" href="{ArchiveUrl(snapshot, path, "zip")}">zip</a>
            · <a id="restore" href="{Page.Url("/restore", ("snapshot", snapshot.Id), ("path", path))}">restore…</a></p>
            {pager}
            <table id="entries"><thead><tr><th>Name</th><th>Mode</th><th class="n">Size</th><th>Modified (UTC)</th></tr></thead><tbody>{Html.Join(rows)}</tbody></table>
            {pager}
            """);
    }

    private static async Task<Html> FileAsync(UiState state, HttpContext context, Snapshot snapshot, string path, Node node)
    {
        var raw = Page.Url("/raw", ("snapshot", snapshot.Id), ("path", path));
        var download = Page.Url("/raw", ("snapshot", snapshot.Id), ("path", path), ("download", "1"));
        Html preview;
        if (ImageTypes.ContainsKey(Path.GetExtension(path)))
        {
            preview = Html.Of($"<p><img id=\"preview-image\" src=\"{raw}\" alt=\"{SnapshotPath.Name(path)}\" style=\"max-width:100%;max-height:40em\"></p>");
        }
        else if (await ReadTextAsync(state.Store, node, path, context.RequestAborted).ConfigureAwait(false) is { } text)
        {
            var cut = node.Size > PreviewLimit ? Html.Of($"<p class=\"muted\">The first {Page.Size(PreviewLimit)} of {Page.Size(node.Size)}.</p>") : Html.Empty;
            preview = Html.Of($"{cut}<pre class=\"preview\" id=\"preview-text\">{text}</pre>");
        }
        else
        {
            preview = Html.Of($"<p class=\"muted\">No preview: not text or an image.</p>");
        }

        return Html.Of($"""
            <p><a id="download" href="{download}">Download</a> ({Page.Size(node.Size)}) · <a href="{Page.Url("/restore", ("snapshot", snapshot.Id), ("path", path))}">restore…</a></p>
            {Details(node)}
            {preview}
            """);
    }

    // The start of a file if it reads as UTF-8 text (no NUL, valid up to where the cut may split a character).
    private static async Task<string?> ReadTextAsync(CofferStore store, Node node, string path, CancellationToken cancellationToken)
    {
        var buffer = new byte[(int)Math.Min(node.Size, PreviewLimit)];
        var content = FileExtents.Open(node, new BlobSequenceStream(store, node.Content ?? [], expectedSha256: null, path), path);
        await using (content.ConfigureAwait(false))
        {
            await content.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        }

        if (Array.IndexOf(buffer, (byte)0) >= 0)
        {
            return null;
        }

        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        for (var trim = 0; trim < 4 && trim <= buffer.Length; trim++)
        {
            try
            {
                return strict.GetString(buffer, 0, buffer.Length - trim);
            }
            catch (DecoderFallbackException) when (node.Size > PreviewLimit)
            {
                // The cut may have split a character: try a byte shorter.
            }
            catch (DecoderFallbackException)
            {
                return null;
            }
        }

        return null;
    }

    private static Html Details(Node node) => Html.Of($"""
        <table id="details"><tr><th>Mode</th><td class="mono">{DisplayText.Mode(node.Mode)}</td></tr>
        <tr><th>Owner</th><td>{node.Uid?.ToString(CultureInfo.InvariantCulture) ?? "-"}:{node.Gid?.ToString(CultureInfo.InvariantCulture) ?? "-"}</td></tr>
        <tr><th>Size</th><td>{Page.Size(node.Size)} ({node.Size} bytes)</td></tr>
        <tr><th>Modified</th><td>{Page.Time(node.Mtime)} UTC</td></tr></table>
        """);

    private static Html Breadcrumbs(Snapshot snapshot, string path)
    {
        var crumbs = new List<Html> { Html.Of($"<a href=\"{BrowseUrl(snapshot, "")}\">{snapshot.ShortId}</a>") };
        var walked = "";
        foreach (var segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            walked = SnapshotPath.Join(walked, segment);
            crumbs.Add(Html.Of($" / <a href=\"{BrowseUrl(snapshot, walked)}\">{segment}</a>"));
        }

        return Html.Of($"<p id=\"breadcrumbs\">{Html.Join(crumbs)}</p>");
    }

    private static Html PageLink(Snapshot snapshot, string path, int target, int current, int pages, string label) =>
        target < 1 || target == current || target > pages
            ? Html.Of($"<span class=\"muted\">{label}</span>")
            : Html.Of($"<a rel=\"{label}\" href=\"{Page.Url("/browse", ("snapshot", snapshot.Id), ("path", path), ("page", target.ToString(CultureInfo.InvariantCulture)))}\">{label}</a>");

    private static string ArchiveUrl(Snapshot snapshot, string path, string format) => Page.Url("/archive", ("snapshot", snapshot.Id), ("path", path), ("format", format));

    private static string Attachment(string fileName)
    {
        var disposition = new ContentDispositionHeaderValue("attachment");
        disposition.SetHttpFileName(fileName);
        return disposition.ToString();
    }
}
