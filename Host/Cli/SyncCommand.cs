using System.CommandLine;
using System.Globalization;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Sync;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Locks;

namespace Coffer.Cli;

/// <summary>
/// <c>coffer at SRC sync --to DST [SNAPSHOT…]</c>: copy snapshots into another store (restic's copy, Plakar's
/// sync); by default every snapshot the destination lacks.
/// </summary>
internal static class SyncCommand
{
    public const string Name = "sync";

    public static Command Create(CliContext context, Option<string?> passphraseFile)
    {
        var ids = new Argument<string[]>("SNAPSHOT") { Description = "Snapshots to copy (id prefixes or 'latest'); all the destination lacks by default.", Arity = ArgumentArity.ZeroOrMore };
        var to = new Option<string>("--to", "-to") { Description = "The store to copy into: a path, a scheme://… location or @name; it must exist (coffer at DST create).", Required = true };
        var toPassphraseFile = new Option<string?>("--to-passphrase-file", "-to-passphrase-file") { Description = $"Read the destination's passphrase from the first line of FILE (else {Passphrases.DestinationVariable}, else a prompt)." };
        var dryRun = new Option<bool>("--dry-run", "-dry-run", "-n") { Description = "List the snapshots that would be copied; change nothing." };
        var command = new Command(Name, "Copy snapshots into another store; each keeps its time, host, source and tags and records the id it came from.") { ids, to, toPassphraseFile, dryRun };
        var filterOptions = SnapshotFilterOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var destinationReference = parse.GetValue(to)!;
            var references = parse.GetValue(ids) ?? [];
            var filter = filterOptions.Get(parse);
            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), source =>
                StoreReferences.WithDestinationStoreAsync(context, destinationReference, source, () => Passphrases.ForDestination(context, parse.GetValue(toPassphraseFile)), async destination =>
                {
                    var plan = await SnapshotSync.PlanAsync(source, destination, references, filter, ct);
                    return parse.GetValue(dryRun)
                        ? DryRun(context, plan, destination)
                        : await RunAsync(context, source, destination, plan, ct);
                }, ct), ct, LockKind.Read);
        });
        return command;
    }

    private static int DryRun(CliContext context, List<Snapshot> plan, CofferStore destination)
    {
        if (context.IsJson)
        {
            context.Json.Write(new JsonSyncSummary(destination.Description, true, plan.Select(s => new JsonSyncedSnapshot(s.Id, null)).ToList(), 0, 0, 0), CliJsonContext.Default.JsonSyncSummary);
            return ExitCodes.Success;
        }

        foreach (var snapshot in plan)
        {
            context.Output.WriteLine($"would copy  {StoreCommands.SnapshotLine(snapshot)}");
        }

        context.Output.WriteLine($"{plan.Count} snapshots to copy to {destination.Description}");
        return ExitCodes.Success;
    }

    private static async Task<int> RunAsync(CliContext context, CofferStore source, CofferStore destination, List<Snapshot> plan, CancellationToken cancellationToken)
    {
        if (plan.Count == 0 && !context.IsJson)
        {
            context.Output.WriteLine($"nothing to copy: {destination.Description} holds every snapshot chosen");
            return ExitCodes.Success;
        }

        var progress = new BackupProgress();
        using var sync = new SnapshotSync(source, destination, progress);
        var result = await ProgressDisplay.RunAsync(context, "sync", progress, () => sync.RunAsync(plan, cancellationToken));
        if (context.IsJson)
        {
            context.Json.Write(new JsonSyncSummary(destination.Description, false, result.Snapshots.Select(s => new JsonSyncedSnapshot(s.From.Id, s.Copy.Id)).ToList(), result.NewBlobs, result.NewBytes, result.AdoptedPacks),
                CliJsonContext.Default.JsonSyncSummary);
            return ExitCodes.Success;
        }

        foreach (var (from, copy) in result.Snapshots)
        {
            context.Output.WriteLine($"copied  {StoreCommands.SnapshotLine(from)}  as {copy.ShortId}");
        }

        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{result.Snapshots.Count} snapshots copied to {destination.Description}: {result.NewBlobs} new blobs, {Size.Format(result.NewBytes)} added{(result.AdoptedPacks > 0 ? $", {result.AdoptedPacks} packs of an interrupted run reused" : "")}"));
        return ExitCodes.Success;
    }
}
