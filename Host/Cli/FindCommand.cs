using System.CommandLine;
using System.Globalization;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Find;
using Coffer.Engine.Operations.Retention;

namespace Coffer.Cli;

/// <summary><c>coffer find PATTERN…</c>: entries of snapshots by name or path, kind, mtime and size (restic's find).</summary>
internal static class FindCommand
{
    public const string Name = "find";

    public static Command Create(CliContext context, Option<string?> passphraseFile)
    {
        var patterns = new Argument<string[]>("PATTERN") { Description = "Globs (* ? **) matched against each entry's name, or its whole path with --path; none matches every entry.", Arity = ArgumentArity.ZeroOrMore };
        var snapshots = new Option<string[]>("--snapshot", "-snapshot", "-s") { Description = "Look only in this snapshot (id prefix or 'latest'; repeatable); all by default.", AllowMultipleArgumentsPerToken = false };
        var wholePath = new Option<bool>("--path", "-path") { Description = "Match the patterns against the path below the snapshot's root (e.g. 'docs/**/*.txt'), not the name." };
        var ignoreCase = new Option<bool>("--ignore-case", "-ignore-case", "-i") { Description = "Match the patterns regardless of case." };
        var newer = new Option<string?>("--newer", "-newer") { Description = "Only entries modified at or after a time: a date (2026-01-31, UTC), a date and time, or a duration back from now (7d, 12h)." };
        var older = new Option<string?>("--older", "-older") { Description = "Only entries modified before a time (as --newer)." };
        var size = new Option<string?>("--size", "-size") { Description = "Only entries of this size: N, MIN..MAX, MIN.. or ..MAX, in bytes or with K, M, G, T (binary)." };
        var types = new Option<string[]>("--type", "-type") { Description = "Only entries of a type: f (file), d (directory), l (symlink); repeatable.", AllowMultipleArgumentsPerToken = false };
        var command = new Command(Name, "Find entries in snapshots by name or path, type, mtime and size; reads only the snapshots' trees.")
        {
            patterns, snapshots, wholePath, ignoreCase, newer, older, size, types,
        };
        // find has a --path of its own (whole-path globs): the source filter is --source only.
        var filterOptions = SnapshotFilterOptions.AddTo(command, pathAlias: false);
        command.SetAction(async (parse, ct) =>
        {
            var filter = filterOptions.Get(parse);
            var now = context.Time.GetUtcNow();
            var query = new FindQuery
            {
                Patterns = parse.GetValue(patterns) ?? [],
                WholePath = parse.GetValue(wholePath),
                IgnoreCase = parse.GetValue(ignoreCase),
                Newer = parse.GetValue(newer) is { } newerText ? ParseTime("--newer", newerText, now) : null,
                Older = parse.GetValue(older) is { } olderText ? ParseTime("--older", olderText, now) : null,
                Size = parse.GetValue(size) is { } sizeText
                    ? SizeRange.TryParse(sizeText, out var range) ? range : throw new CliFailure($"--size '{sizeText}' is not a size or a range: give e.g. 10M, 1K..1M, 100M.. or ..4K")
                    : null,
                Kinds = (parse.GetValue(types) ?? []).Select(KindOf).ToHashSet(StringComparer.Ordinal),
            };
            if (!query.WholePath && query.Patterns.FirstOrDefault(p => p.Contains('/', StringComparison.Ordinal)) is { } withSlash)
            {
                throw new CliFailure($"pattern '{withSlash}' holds a '/' and a name never does: add --path to match it against whole paths");
            }

            if (query.Patterns.Count == 0 && query.Newer is null && query.Older is null && query.Size is null && query.Kinds.Count == 0)
            {
                throw new CliFailure("nothing to find: give a PATTERN, or --newer, --older, --size or --type");
            }

            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var chosen = parse.GetValue(snapshots) ?? [];
                var selected = filter.Select(chosen.Length > 0 ? await store.FindSnapshotsAsync(chosen, ct) : await store.ListSnapshotsAsync(ct));
                await foreach (var match in new SnapshotFind(store).FindAsync(selected, query, ct))
                {
                    if (context.IsJson)
                    {
                        context.Json.Write(new JsonFindMatch(match.Snapshot.Id, JsonOutput.Node(match.Node, match.Path)), CliJsonContext.Default.JsonFindMatch);
                    }
                    else
                    {
                        context.Output.WriteLine($"{match.Snapshot.ShortId}  {StoreCommands.Describe(match.Node, match.Path)}");
                    }
                }

                return ExitCodes.Success;
            }, ct);
        });
        return command;
    }

    private static string KindOf(string type) => type switch
    {
        "d" => Node.DirectoryKind,
        "l" => Node.SymlinkKind,
        "f" => Node.FileKind,
        _ => throw new CliFailure($"--type '{type}' is not a type: give f (file), d (directory) or l (symlink)"),
    };

    // A date is read as UTC (the times coffer prints are UTC); a duration counts back from now.
    private static DateTimeOffset ParseTime(string option, string text, DateTimeOffset now)
    {
        if (RetentionPolicy.TryParseDuration(text, out var age))
        {
            return now - age;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var time)
            ? time
            : throw new CliFailure($"{option} '{text}' is neither a date (2026-01-31, 2026-01-31T10:00:00) nor a duration (7d, 12h)");
    }
}
