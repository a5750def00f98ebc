using System.CommandLine;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Repair;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Locks;

namespace Coffer.Cli;

/// <summary><c>coffer repair index|snapshots [--dry-run]</c> (restic's names): rebuild the index from the packs; remove or salvage damaged snapshots.</summary>
internal static class RepairCommand
{
    public const string Name = "repair";

    public static Command Create(CliContext context, Option<string?> passphraseFile)
    {
        var command = new Command(Name, "Repair a damaged store: 'repair index' rewrites the index from the packs, 'repair snapshots' removes unreadable snapshots and salvages damaged ones.")
        {
            IndexCommand(context, passphraseFile),
            SnapshotsCommand(context, passphraseFile),
        };
        return command;
    }

    /// <summary>A repair subcommand: takes --dry-run, runs <paramref name="run"/> on the store under the maintenance lock (a read lock for a dry run).</summary>
    private static Command Subcommand(CliContext context, Option<string?> passphraseFile, string name, string description, Func<CofferStore, bool, CancellationToken, Task> run)
    {
        var dryRun = new Option<bool>("--dry-run", "-dry-run", "-n") { Description = "Only print what would be done; change nothing." };
        var command = new Command(name, description) { dryRun };
        command.SetAction(async (parse, ct) =>
        {
            var dry = parse.GetValue(dryRun);
            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                await run(store, dry, ct);
                return ExitCodes.Success;
            }, ct, dry ? LockKind.Read : LockKind.Maintenance);
        });
        return command;
    }

    private static Command IndexCommand(CliContext context, Option<string?> passphraseFile) => Subcommand(context, passphraseFile, "index",
        "Rewrite the index: keep what readable index objects say of the packs that exist, read every other pack's header, then replace the old index objects (damaged ones too).",
        async (store, dry, ct) =>
        {
            var r = await IndexRepair.RunAsync(store, dry, ct);
            if (context.IsJson)
            {
                context.Json.Write(new JsonIndexRepair(dry, r.PacksListed, r.PacksFromHeaders, r.UnreadablePacks, r.MissingPacks, r.Replaced, r.Written), CliJsonContext.Default.JsonIndexRepair);
                return;
            }

            var o = context.Output;
            foreach (var pack in r.UnreadablePacks)
            {
                o.WriteLine($"pack {pack} is in no readable index object and its header cannot be read: its blobs are lost (see '{StoreReferences.Hint(context, "check")}')");
            }

            foreach (var pack in r.MissingPacks)
            {
                o.WriteLine($"pack {pack} is listed in the index but not in the store: left out");
            }

            o.WriteLine($"{r.PacksListed} packs from the index, {r.PacksFromHeaders} read from their headers; {(dry ? "dry run: would replace" : $"wrote {r.Written.Count} index objects replacing")} {r.Replaced.Count}");
        });

    private static Command SnapshotsCommand(CliContext context, Option<string?> passphraseFile) => Subcommand(context, passphraseFile, "snapshots",
        "Remove snapshot objects that cannot be read; rewrite snapshots whose directories or file content are lost to keep every readable entry and record the lost ones.",
        async (store, dry, ct) =>
        {
            var r = await SnapshotRepair.RunAsync(store, dry, ct);
            if (context.IsJson)
            {
                context.Json.Write(new JsonSnapshotRepair(dry, r.Removed.Select(d => new JsonPathReason(d.Name, d.Reason)).ToList(),
                    r.Salvaged.Select(s => new JsonSalvaged(s.Snapshot.Id, s.Lost.Select(l => new JsonPathReason(l.Path, l.Reason)).ToList())).ToList()), CliJsonContext.Default.JsonSnapshotRepair);
                return;
            }

            var o = context.Output;
            foreach (var damaged in r.Removed)
            {
                o.WriteLine($"{(dry ? "would remove" : "removed")} snapshot {damaged.ShortName}: {damaged.Reason}");
            }

            foreach (var salvaged in r.Salvaged)
            {
                o.WriteLine($"{(dry ? "would salvage" : "salvaged")} snapshot {salvaged.Snapshot.ShortId}: {salvaged.Lost.Count} entries lost");
                foreach (var (path, reason) in salvaged.Lost)
                {
                    o.WriteLine($"  lost {Node.Quote(path.Length == 0 ? "/" : path)}: {reason}");
                }
            }

            o.WriteLine(r.Removed.Count + r.Salvaged.Count == 0
                ? "no damaged snapshot found"
                : $"{(dry ? "dry run: would remove" : "removed")} {r.Removed.Count} and {(dry ? "salvage" : "salvaged")} {r.Salvaged.Count} snapshots; run '{StoreReferences.Hint(context, "maintenance")}' to free what only they used");
        });
}
