namespace Coffer.Ui;

/// <summary>A path inside a snapshot as a request names it: segments joined by '/', never '.' or '..', so it cannot name anything outside.</summary>
internal static class SnapshotPath
{
    /// <summary>The path made canonical (no empty segments, no leading or trailing '/').</summary>
    /// <exception cref="UiInputException">A segment is '.' or '..' or holds a NUL.</exception>
    public static string Normalize(string? path)
    {
        var segments = (path ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.FirstOrDefault(s => s is "." or ".." || s.Contains('\0', StringComparison.Ordinal)) is { } bad)
        {
            throw new UiInputException($"the path '{path}' steps outside the snapshot ('{bad}'): give a path inside it, such as docs/notes.txt");
        }

        return string.Join('/', segments);
    }

    public static string Join(string parent, string name) => parent.Length == 0 ? name : $"{parent}/{name}";

    /// <summary>The name of the last segment ("" for the root).</summary>
    public static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];
}
