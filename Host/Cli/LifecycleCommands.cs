using System.CommandLine;
using System.Globalization;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Diff;
using Coffer.Engine.Operations.Export;
using Coffer.Engine.Operations.Maintenance;
using Coffer.Engine.Operations.Retention;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Locks;

namespace Coffer.Cli;

/// <summary>The commands of a store's life after backup: unlock, rm, maintenance, diff, ptar.</summary>
internal static class LifecycleCommands
{
    public static IEnumerable<Command> Create(CliContext context, Option<string?> passphraseFile)
    {
        yield return UnlockCommand(context, passphraseFile);
        yield return RmCommand(context, passphraseFile);
        yield return MaintenanceCommand(context, passphraseFile);
        yield return DiffCommand(context, passphraseFile);
        yield return PtarCommand(context, passphraseFile);
    }

    private static Command UnlockCommand(CliContext context, Option<string?> passphraseFile)
    {
        var all = new Option<bool>("--remove-all", "-remove-all") { Description = "Remove every lock, not only stale ones (only when no other coffer works on the store)." };
        var command = new Command("unlock", "Remove stale locks (not refreshed for 30 minutes, or held by a process of this host that is gone).") { all };
        command.SetAction(async (parse, ct) =>
        {
            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var removed = await StoreLock.RemoveStaleAsync(store, parse.GetValue(all), context.Time, Environment.MachineName, ct);
                if (context.IsJson)
                {
                    context.Json.Write(new JsonUnlock(removed.Select(r => new JsonRemovedLock(r.Name, r.Lock?.Describe())).ToList()), CliJsonContext.Default.JsonUnlock);
                    return ExitCodes.Success;
                }

                foreach (var (name, held) in removed)
                {
                    context.Output.WriteLine($"removed lock {name[..8]}: {held?.Describe() ?? "unreadable"}");
                }

                context.Output.WriteLine($"{removed.Count} locks removed");
                return ExitCodes.Success;
            }, ct);
        });
        return command;
    }

    private static Command RmCommand(CliContext context, Option<string?> passphraseFile)
    {
        var ids = new Argument<string[]>("SNAPSHOT") { Description = "Snapshots to remove (id prefixes).", Arity = ArgumentArity.ZeroOrMore };
        var olderThan = new Option<string?>("--older-than", "-older-than") { Description = "Remove snapshots older than a duration: 30d, 12h, 2w, 1y." };
        var last = new Option<int>("--keep-last", "-keep-last") { Description = "Keep the N newest snapshots (per host and source)." };
        var daily = new Option<int>("--keep-daily", "-keep-daily") { Description = "Keep the newest snapshot of each of the last N days that have one." };
        var weekly = new Option<int>("--keep-weekly", "-keep-weekly") { Description = "Keep the newest snapshot of each of the last N weeks that have one." };
        var monthly = new Option<int>("--keep-monthly", "-keep-monthly") { Description = "Keep the newest snapshot of each of the last N months that have one." };
        var hourly = new Option<int>("--keep-hourly", "-keep-hourly") { Description = "Keep the newest snapshot of each of the last N hours that have one." };
        var yearly = new Option<int>("--keep-yearly", "-keep-yearly") { Description = "Keep the newest snapshot of each of the last N years that have one." };
        var within = new Option<string?>("--keep-within", "-keep-within") { Description = "Keep every snapshot newer than the group's newest one minus a duration: 7d, 12h, 2w, 1y." };
        var keepTags = new Option<string[]>("--keep-tag", "-keep-tag") { Description = "Keep every snapshot that has this tag (or all tags of a list t1,t2); repeatable.", AllowMultipleArgumentsPerToken = false };
        var groupBy = new Option<string>("--group-by", "-group-by") { Description = "Apply the policy per group of snapshots with the same host, paths and/or tags (default host,paths; '' for one group).", DefaultValueFactory = _ => "host,paths" };
        var prune = new Option<bool>("--prune", "-prune") { Description = "Run 'maintenance' afterwards to free the removed snapshots' data." };
        var dryRun = new Option<bool>("--dry-run", "-dry-run", "-n") { Description = "Only print what would be removed." };
        var command = new Command("rm", "Remove snapshots, by id, by age or by a keep policy (their data is freed by 'maintenance' or --prune); --tag/--host/--source limit the policy to some snapshots.") { ids, olderThan, last, hourly, daily, weekly, monthly, yearly, within, keepTags, groupBy, prune, dryRun };
        var filterOptions = SnapshotFilterOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var explicitIds = parse.GetValue(ids) ?? [];
            var filter = filterOptions.Get(parse);
            if (explicitIds.Length > 0 && !filter.IsEmpty)
            {
                throw new CliFailure("give snapshots to remove, or --tag/--host/--source with a policy, not both");
            }

            var groupText = parse.GetValue(groupBy) ?? "";
            if (!RetentionPolicy.TryParseGrouping(groupText, out var grouping))
            {
                throw new CliFailure($"--group-by '{groupText}' is not a grouping: give host, paths and/or tags, comma-separated");
            }

            TimeSpan? keepWithin = null;
            if (parse.GetValue(within) is { } withinText)
            {
                keepWithin = RetentionPolicy.TryParseDuration(withinText, out var w) ? w
                    : throw new CliFailure($"--keep-within '{withinText}' is not a duration: give a number and a unit, e.g. 7d, 12h, 2w, 1y");
            }

            var policy = new RetentionPolicy(parse.GetValue(last), parse.GetValue(daily), parse.GetValue(weekly), parse.GetValue(monthly))
            {
                Hourly = parse.GetValue(hourly),
                Yearly = parse.GetValue(yearly),
                Within = keepWithin,
                WithinText = parse.GetValue(within),
                KeepTags = parse.GetValue(keepTags) ?? [],
                GroupBy = grouping,
            };
            if (policy.HasNegativeCount)
            {
                throw new CliFailure("a --keep-* count cannot be negative");
            }

            TimeSpan? age = null;
            if (parse.GetValue(olderThan) is { } text)
            {
                age = RetentionPolicy.TryParseDuration(text, out var d) ? d
                    : throw new CliFailure($"--older-than '{text}' is not a duration: give a number and a unit, e.g. 30d, 12h, 90m, 2w, 1y");
            }

            if (explicitIds.Length > 0 && (age is not null || !policy.IsEmpty))
            {
                throw new CliFailure("give snapshots to remove, or --older-than/--keep-*, not both");
            }

            if (explicitIds.Length == 0 && age is null && policy.IsEmpty)
            {
                throw new CliFailure("nothing to remove: give snapshots, --older-than DURATION or --keep-last/--keep-daily/--keep-weekly/--keep-monthly N");
            }

            var dry = parse.GetValue(dryRun);
            var removal = await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var plan = explicitIds.Length > 0
                    ? await SnapshotRemoval.PlanAsync(store, explicitIds, ct)
                    : await SnapshotRemoval.PlanAsync(store, policy, age, filter, context.Time, ct);
                // Under --json the lines below go nowhere; one document says it all at the end.
                var output = context.IsJson ? TextWriter.Null : context.Output;
                foreach (var damaged in plan.RemovedDamaged)
                {
                    output.WriteLine($"{(dry ? "would remove" : "remove")}  {damaged.ShortName}  (damaged: cannot be read)");
                    if (!dry)
                    {
                        await store.DeleteSnapshotAsync(damaged.Name, ct);
                    }
                }

                foreach (var (s, rules) in plan.Kept)
                {
                    output.WriteLine($"keep    {Line(s)}  ({(rules.Count > 0 ? string.Join(", ", rules) : $"newer than {parse.GetValue(olderThan)}")})");
                }

                foreach (var s in plan.Removed)
                {
                    output.WriteLine($"{(dry ? "would remove" : "remove")}  {Line(s)}");
                    if (!dry)
                    {
                        await store.DeleteSnapshotAsync(s.Id, ct);
                    }
                }

                if (context.IsJson)
                {
                    context.Json.Write(new JsonRemoval(dry, plan.Kept.Select(k => new JsonKept(k.Snapshot.Id, k.Rules.Count > 0 ? k.Rules : [$"newer than {parse.GetValue(olderThan)}"])).ToList(),
                        plan.Removed.Select(s => s.Id).ToList(), plan.RemovedDamaged.Select(d => d.Name).ToList()), CliJsonContext.Default.JsonRemoval);
                }

                output.WriteLine(dry
                    ? $"dry run: {plan.Removed.Count + plan.RemovedDamaged.Count} snapshots would be removed"
                    : parse.GetValue(prune) ? $"{plan.Removed.Count + plan.RemovedDamaged.Count} snapshots removed; maintenance follows"
                    : $"{plan.Removed.Count + plan.RemovedDamaged.Count} snapshots removed; run '{StoreReferences.Hint(context, "maintenance")}' to free their space");
                return ExitCodes.Success;
            }, ct, dry ? null : LockKind.Remove);
            if (removal != ExitCodes.Success || !parse.GetValue(prune))
            {
                return removal;
            }

            if (dry)
            {
                // A maintenance dry run now would count the snapshots still there, so it would not tell what the prune frees.
                (context.IsJson ? TextWriter.Null : context.Output).WriteLine("dry run: maintenance not run");
                return removal;
            }

            // Maintenance takes its own, exclusive lock, as 'coffer maintenance' would.
            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile),
                store => RunMaintenanceAsync(context, store, dryRun: false, DefaultClockSkew, ct), ct, LockKind.Maintenance);
        });
        return command;
    }

    private static readonly TimeSpan DefaultClockSkew = TimeSpan.FromMinutes(10);

    private static Command MaintenanceCommand(CliContext context, Option<string?> passphraseFile)
    {
        var dryRun = new Option<bool>("--dry-run", "-dry-run", "-n") { Description = "Only print what would be marked and repacked." };
        var skew = new Option<string>("--clock-skew", "-clock-skew") { Description = "How far the clocks of hosts sharing the store may disagree (default 10m).", DefaultValueFactory = _ => "10m" };
        var command = new Command("maintenance", "Free what no snapshot needs: repack sparse packs, delete unused ones, rewrite the index. Safe beside running backups.") { dryRun, skew };
        command.SetAction(async (parse, ct) =>
        {
            var text = parse.GetValue(skew)!;
            var allowance = RetentionPolicy.TryParseDuration(text, out var d) ? d
                : throw new CliFailure($"--clock-skew '{text}' is not a duration: give a number and a unit, e.g. 10m, 1h");
            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile),
                store => RunMaintenanceAsync(context, store, parse.GetValue(dryRun), allowance, ct), ct, LockKind.Maintenance);
        });
        return command;
    }

    /// <summary>Runs maintenance and prints its report: 'coffer maintenance' and 'coffer rm --prune'.</summary>
    private static async Task<int> RunMaintenanceAsync(CliContext context, CofferStore store, bool dryRun, TimeSpan clockSkew, CancellationToken ct)
    {
        // A damaged index object is replaced by the rewritten index, which lists its packs from their headers.
        var indexObjects = store.LoadedIndexObjects.Concat(store.DamagedIndexObjects.Select(d => d.Name)).ToList();
        var maintenance = new Maintenance(store, indexObjects, context.Time, Environment.MachineName, clockSkew);
        var r = await ProgressDisplay.RunWithoutCountersAsync(context, "maintenance", () => maintenance.RunAsync(dryRun, ct));
        if (context.IsJson)
        {
            context.Json.Write(new JsonMaintenanceSummary(dryRun, r.Snapshots, r.BlobsInUse, r.OrphansIndexed, r.Repacked, r.RepackedBytes, r.Marked, r.Deleted, r.DeletedBytes, r.Deferred, r.DeferredBecause, r.DamagedSnapshots),
                CliJsonContext.Default.JsonMaintenanceSummary);
            return ExitCodes.Success;
        }

        var o = context.Output;
        if (r.DamagedSnapshots.Count > 0)
        {
            o.WriteLine($"{r.DamagedSnapshots.Count} damaged snapshots ({string.Join(", ", r.DamagedSnapshots)}): nothing {(dryRun ? "would be" : "was")} freed, since what they need cannot be known; {(dryRun ? "" : "the index was rewritten; ")}remove them with '{StoreReferences.Hint(context, "repair snapshots")}', then run maintenance again");
            return ExitCodes.Success;
        }

        o.WriteLine($"{r.Snapshots} snapshots use {r.BlobsInUse} blobs");
        if (r.OrphansIndexed > 0)
        {
            o.WriteLine($"indexed {r.OrphansIndexed} packs an interrupted backup left");
        }

        if (dryRun)
        {
            o.WriteLine($"dry run: {r.Marked} unused packs would be deleted, {r.Repacked} sparse packs repacked");
            return ExitCodes.Success;
        }

        o.WriteLine($"repacked {r.Repacked} sparse packs ({Size.Format(r.RepackedBytes)} copied)");
        o.WriteLine($"marked {r.Marked} packs unused; deleted {r.Deleted} packs ({Size.Format(r.DeletedBytes)} freed)");
        if (r.Deferred > 0)
        {
            o.WriteLine($"kept {r.Deferred} marked packs for a later run: {r.DeferredBecause}");
        }

        return ExitCodes.Success;
    }

    private static Command DiffCommand(CliContext context, Option<string?> passphraseFile)
    {
        var first = new Argument<string>("SNAPSHOT1[:path]") { Description = "The older side." };
        var second = new Argument<string>("SNAPSHOT2[:path]") { Description = "The newer side; its path defaults to the first one's." };
        var command = new Command("diff", "Show what changed between two snapshots: + added, - removed, M modified (content, mode, mtime, owner, target).") { first, second };
        command.SetAction(async (parse, ct) =>
        {
            var (ref1, path1) = StoreReferences.SplitSnapshot(parse.GetValue(first)!);
            var (ref2, path2) = StoreReferences.SplitSnapshot(parse.GetValue(second)!);
            if (path1.Length > 0 && path2.Length == 0 && !parse.GetValue(second)!.Contains(':', StringComparison.Ordinal))
            {
                path2 = path1;
            }

            if (path2.Length > 0 && path1.Length == 0 && !parse.GetValue(first)!.Contains(':', StringComparison.Ordinal))
            {
                path1 = path2;
            }

            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var a = await store.FindSnapshotAsync(ref1, ct);
                var b = await store.FindSnapshotAsync(ref2, ct);
                var before = await store.ResolveAsync(a, path1, ct);
                var after = await store.ResolveAsync(b, path2, ct);
                await foreach (var change in new SnapshotDiff(store).ChangesAsync(before, after, path2, ct))
                {
                    if (context.IsJson)
                    {
                        context.Json.Write(new JsonDiffChange(change.Marker.ToString(), change.Path, change.What), CliJsonContext.Default.JsonDiffChange);
                    }
                    else
                    {
                        context.Output.WriteLine(change.ToString());
                    }
                }

                return ExitCodes.Success;
            }, ct);
        });
        return command;
    }

    private static Command PtarCommand(CliContext context, Option<string?> passphraseFile)
    {
        var output = new Option<string>("-o", "--output") { Description = "The file to write (FILE.ptar).", Required = true };
        var target = new Argument<string>("SNAPSHOT") { Description = "The snapshot to export (id prefix or 'latest')." };
        var command = new Command("ptar", "Export one snapshot into a single-file portable store that 'coffer at FILE.ptar ls|restore|check' reads.") { output, target };
        command.Aliases.Add("export");
        command.SetAction(async (parse, ct) =>
        {
            var file = Path.GetFullPath(parse.GetValue(output)!);
            if (!Directory.Exists(Path.GetDirectoryName(file)))
            {
                throw new CliFailure($"cannot write {file}: its directory does not exist");
            }

            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var snapshot = await store.FindSnapshotAsync(parse.GetValue(target)!, ct);
                var exported = await new SnapshotExport(store).RunAsync(snapshot, file, ct);
                context.Output.WriteLine($"exported snapshot {snapshot.ShortId} to {file}: {exported.Packs} packs, {Size.Format(exported.Bytes)}");
                return ExitCodes.Success;
            }, ct, LockKind.Read);
        });
        return command;
    }

    private static string Line(Snapshot s) => string.Create(CultureInfo.InvariantCulture, $"{s.ShortId}  {s.Time.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {s.Hostname}  {s.Source}");
}
