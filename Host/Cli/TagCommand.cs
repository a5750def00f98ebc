using System.CommandLine;
using Coffer.Engine.Operations.Tags;
using Coffer.Engine.Repository.Locks;

namespace Coffer.Cli;

/// <summary><c>coffer tag SNAPSHOT… --add T | --remove T | --set T…</c>: change snapshots' tags (restic's tag).</summary>
internal static class TagCommand
{
    public const string Name = "tag";

    public static Command Create(CliContext context, Option<string?> passphraseFile)
    {
        var ids = new Argument<string[]>("SNAPSHOT") { Description = "Snapshots to change (id prefixes or 'latest'); or choose them with --tag/--host/--source.", Arity = ArgumentArity.ZeroOrMore };
        var add = new Option<string[]>("--add", "-add") { Description = "Add a tag (repeatable).", AllowMultipleArgumentsPerToken = false };
        var remove = new Option<string[]>("--remove", "-remove") { Description = "Remove a tag (repeatable).", AllowMultipleArgumentsPerToken = false };
        var set = new Option<string[]>("--set", "-set") { Description = "Replace all tags with these (repeatable; --set '' removes them all).", AllowMultipleArgumentsPerToken = false };
        var command = new Command(Name, "Add, remove or replace snapshots' tags; each snapshot keeps its id.") { ids, add, remove, set };
        var filterOptions = SnapshotFilterOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var explicitIds = parse.GetValue(ids) ?? [];
            var filter = filterOptions.Get(parse);
            var change = new TagChange
            {
                Set = parse.GetResult(set) is null ? null : Checked("--set", parse.GetValue(set)!.Where(tag => tag.Length > 0)),
                Add = Checked("--add", parse.GetValue(add) ?? []),
                Remove = Checked("--remove", parse.GetValue(remove) ?? []),
            };
            if (change.Set is null && change.Add.Count == 0 && change.Remove.Count == 0)
            {
                throw new CliFailure("nothing to change: give --add TAG, --remove TAG or --set TAG…");
            }

            if (change.Set is not null && (change.Add.Count > 0 || change.Remove.Count > 0))
            {
                throw new CliFailure("--set replaces every tag: give it alone, or --add/--remove");
            }

            if (explicitIds.Length > 0 == !filter.IsEmpty)
            {
                throw new CliFailure(explicitIds.Length > 0
                    ? "give snapshots, or --tag/--host/--source to choose them, not both"
                    : "which snapshots? give their ids, or --tag/--host/--source to choose them");
            }

            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                // Every snapshot is found before any is written: a bad id changes nothing.
                var chosen = explicitIds.Length > 0
                    ? await store.FindSnapshotsAsync(explicitIds, ct)
                    : filter.Select(await store.ListSnapshotsAsync(ct));

                var results = await SnapshotTags.ChangeAsync(store, chosen, change, ct);
                if (context.IsJson)
                {
                    context.Json.Write(results.Select(r => new JsonTagChange(r.After.Id, r.Changed, r.After.Tags)).ToList(), CliJsonContext.Default.ListJsonTagChange);
                    return ExitCodes.Success;
                }

                foreach (var result in results)
                {
                    var tags = result.After.Tags.Count == 0 ? "no tags" : $"tags={string.Join(',', result.After.Tags)}";
                    context.Output.WriteLine($"{result.After.ShortId}  {(result.Changed ? "changed" : "unchanged")}  {tags}");
                }

                context.Output.WriteLine($"{results.Count(r => r.Changed)} of {results.Count} snapshots changed");
                return ExitCodes.Success;
            }, ct, LockKind.Remove);
        });
        return command;
    }

    // A tag is a word that ls prints after 'tags=' and --tag splits on commas: it can hold neither.
    private static List<string> Checked(string option, IEnumerable<string> tags)
    {
        var list = tags.ToList();
        return list.Find(tag => tag.Length == 0 || tag.Contains(',', StringComparison.Ordinal) || tag.Any(char.IsWhiteSpace)) is { } bad
            ? throw new CliFailure($"{option} '{bad}' is not a tag: a tag is not empty and holds no comma or space")
            : list;
    }
}
