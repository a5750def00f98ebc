using System.Globalization;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Microsoft.AspNetCore.Http;

namespace Coffer.Ui;

/// <summary>The frame every page shares (navigation, style), and the small pieces pages build with.</summary>
internal static class Page
{
    // No script anywhere: every page works without JavaScript, and the policy forbids any that got in.
    private const string SecurityPolicy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly Html Style = new("""
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
        nav{background:#2d3e50;padding:.5em 1em}nav a{color:#fff;margin-right:1.2em;text-decoration:none}
        main{padding:1em 1.5em}h1{font-size:1.3em}table{border-collapse:collapse}
        td,th{padding:.2em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
        td.n,th.n{text-align:right}.mono{font-family:monospace}.muted{color:#777}
        .error{color:#a00;font-weight:bold}.ok{color:#070;font-weight:bold}
        .added{color:#070}.removed{color:#a00}.modified{color:#a60}
        ul.tree{list-style:none;padding-left:1.2em}form.inline{display:inline}
        pre.preview{background:#f6f6f6;padding:.7em;overflow:auto;max-height:40em}
        .cal td{width:1.6em;height:1.6em;text-align:center;font-size:.8em;border:1px solid #eee}
        .cal td.b1{background:#cde}.cal td.b2{background:#9bd}.cal td.b3{background:#58b;color:#fff}
        fieldset{border:1px solid #ccc;margin-bottom:1em}label{margin-right:1em}
        </style>
        """);

    /// <summary>Writes a whole page, headed by <paramref name="title"/>.</summary>
    public static Task WriteAsync(HttpContext context, string title, Html body, int status = StatusCodes.Status200OK, Html head = default)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        NoStore(response);
        var page = Html.Of($"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>{title} · coffer</title>{Style}{head}</head>
            <body><nav><a href="/">Snapshots</a><a href="/search">Search</a><a href="/compare">Compare</a><a href="/restore">Restore</a><a href="/health">Store health</a></nav>
            <main><h1>{title}</h1>
            {body}
            </main></body></html>
            """);
        return response.WriteAsync(page.Markup, context.RequestAborted);
    }

    /// <summary>What every response carries: no caching (backups are private), no sniffing, no framing, no scripts.</summary>
    public static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentSecurityPolicy = SecurityPolicy;
        response.Headers["Referrer-Policy"] = "no-referrer";
    }

    /// <summary>A URL with its query built from <paramref name="parameters"/> (null values left out), each escaped.</summary>
    public static string Url(string path, params (string Name, string? Value)[] parameters)
    {
        var query = string.Join('&', parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}"));
        return query.Length == 0 ? path : $"{path}?{query}";
    }

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Size(long bytes) => DisplayText.Size(bytes);

    /// <summary>A snapshot's one-line label for selects and headings.</summary>
    public static string Label(Snapshot snapshot) => $"{snapshot.ShortId}  {Time(snapshot.Time)}  {snapshot.Source}";

    /// <summary>A snapshot select named <paramref name="name"/>, newest first, <paramref name="selected"/> chosen.</summary>
    public static Html SnapshotSelect(string name, IEnumerable<Snapshot> snapshots, string? selected, bool allowAll = false)
    {
        var options = snapshots.OrderByDescending(s => s.Time).Select(s =>
            Html.Of($"<option value=\"{s.Id}\"{(selected is not null && s.Id.StartsWith(selected, StringComparison.Ordinal) ? new Html(" selected") : Html.Empty)}>{Label(s)}</option>"));
        var all = allowAll ? new Html("<option value=\"\">all snapshots</option>") : Html.Empty;
        return Html.Of($"<select name=\"{name}\" id=\"{name}\">{all}{Html.Join(options)}</select>");
    }

    /// <summary>The hidden anti-forgery field every form that POSTs carries.</summary>
    public static Html AntiforgeryField(Microsoft.AspNetCore.Antiforgery.AntiforgeryTokenSet tokens) =>
        Html.Of($"<input type=\"hidden\" name=\"{tokens.FormFieldName}\" value=\"{tokens.RequestToken}\">");
}

/// <summary>A request the interface refuses: one line saying what was wrong and what to do (a 400 page).</summary>
internal sealed class UiInputException(string message) : Exception(message);
