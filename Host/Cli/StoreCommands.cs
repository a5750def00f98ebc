using System.CommandLine;
using System.Globalization;
using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Locks;

namespace Coffer.Cli;

/// <summary>
/// The commands that work on a store, Plakar's grammar: <c>coffer [at STORE] create|backup|ls|cat|restore|check|info</c>.
/// </summary>
internal static class StoreCommands
{
    public static IEnumerable<Command> Create(CliContext context, Option<string?> passphraseFile)
    {
        yield return CreateCommand(context, passphraseFile);
        yield return BackupCommand(context, passphraseFile);
        yield return LsCommand(context, passphraseFile);
        yield return CatCommand(context, passphraseFile);
        yield return RestoreCommand(context, passphraseFile);
        yield return CheckCommand(context, passphraseFile);
        yield return InfoCommand(context, passphraseFile);
        foreach (var command in LifecycleCommands.Create(context, passphraseFile))
        {
            yield return command;
        }
    }

    private static Command CreateCommand(CliContext context, Option<string?> passphraseFile)
    {
        var plaintext = new Option<bool>("--plaintext", "-plaintext") { Description = "No encryption (blob ids are still keyed MACs)." };
        var command = new Command("create", "Create a store.") { plaintext };
        command.SetAction(async (parse, ct) =>
        {
            var passphrase = () => parse.GetValue(plaintext) ? null : Passphrases.ForCreate(context, parse.GetValue(passphraseFile), context.StoreReference is null);
            var (config, location) = await StoreReferences.CreateStoreAsync(context, passphrase, ct);
            context.Output.WriteLine($"created {(config.Encryption is null ? "plaintext" : "encrypted")} store {config.Id[..8]} at {location}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command BackupCommand(CliContext context, Option<string?> passphraseFile)
    {
        var source = new Argument<string>("SOURCE") { Description = "A path, a scheme://… location or @source[:sub]; the current directory by default.", Arity = ArgumentArity.ZeroOrOne };
        var tags = new Option<string[]>("--tag", "-tag") { Description = "Tag the snapshot (repeatable).", AllowMultipleArgumentsPerToken = false };
        var command = new Command("backup", "Back up a directory or a source (or what is piped in, --stdin) into the store.") { source, tags };
        var selection = BackupSelectionOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var stdin = selection.IsStdin(parse);
            var (configuration, name) = stdin ? (null, $"stdin://{selection.StdinFileName(parse)}") : StoreReferences.ResolveSource(context, parse.GetValue(source) ?? ".");
            var request = selection.Request(parse, name, parse.GetValue(tags) ?? [], parse.GetValue(source) is not null, context.Time.LocalTimeZone);
            configuration = configuration is null ? null : selection.SourceConfiguration(parse, configuration, scheme => context.Catalog.FindOrDefault(ConnectorKind.Source, scheme)?.Descriptor);
            var piped = stdin ? await OpenStdinAsync(context, selection.StdinFileName(parse), request.Time ?? context.Time.GetUtcNow(), ct) : null;

            // The source is scanned while the store opens (its key derivation leaves the other core idle).
            var connector = piped ?? await context.Catalog.CreateSourceAsync(configuration!, ct);
            await using (connector)
            {
                await using var prescan = new SourcePrescan(connector, ct);

                // A dry run writes nothing, so it takes no lock that could keep others waiting (as restic).
                return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
                {
                    // A dry run lists what it would read anyway, at the end.
                    var progress = new BackupProgress { OnFile = request.DryRun ? null : ProgressDisplay.VerboseFileLines(context) };
                    var runner = new BackupRunner(store, connector, request, context.Time, selection.HostName(parse), progress) { Prescan = prescan };
                    BackupResult result;
                    try
                    {
                        result = await ProgressDisplay.RunAsync(context, "backup", progress, () => runner.RunAsync(ct));
                    }
                    catch (NotFoundException e)
                    {
                        throw new CliFailure($"cannot back up {name}: {e.Message}");
                    }

                    foreach (var warning in result.Warnings)
                    {
                        context.Error.WriteLine($"coffer: warning: {warning}");
                    }

                    var snapshot = result.Snapshot;
                    var s = snapshot.Summary;
                    var exitCode = result.Warnings.Count == 0 ? ExitCodes.Success : ExitCodes.Incomplete;
                    if (context.IsJson)
                    {
                        context.Json.Write(new JsonBackupSummary(result.WouldRead is null ? snapshot.Id : null, s.Files, s.FilesUnchanged, s.Directories, s.Symlinks, s.Bytes, s.NewBytesStored, s.NewBlobs, s.Seconds, result.Warnings)
                        {
                            BytesRead = s.BytesRead,
                            DryRun = result.WouldRead is not null,
                            WouldRead = result.WouldRead,
                        }, CliJsonContext.Default.JsonBackupSummary);
                        return exitCode;
                    }

                    if (result.WouldRead is { } wouldRead)
                    {
                        foreach (var path in wouldRead)
                        {
                            context.Output.WriteLine($"would read {Node.Quote(path)}");
                        }

                        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"dry run: would back up {s.Files} files, {s.Directories} directories, {Size.Format(s.Bytes)} ({s.FilesUnchanged} files unchanged), about {Size.Format(s.NewBytesStored)} of new data before compression; nothing stored"));
                        return exitCode;
                    }

                    context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"snapshot {snapshot.ShortId} created: {s.Files} files, {s.Directories} directories, {Size.Format(s.Bytes)} ({s.FilesUnchanged} files unchanged), {Size.Format(s.BytesRead)} read, {Size.Format(s.NewBytesStored)} added to the store in {s.Seconds:0.0}s"));
                    if (result.Warnings.Count == 0)
                    {
                        return ExitCodes.Success;
                    }

                    // restic's exit code 3: the snapshot is written, but it lacks what could not be read.
                    context.Output.WriteLine($"snapshot {snapshot.ShortId} is incomplete: {result.Warnings.Count} entries could not be read:");
                    foreach (var warning in result.Warnings)
                    {
                        context.Output.WriteLine($"  {warning}");
                    }

                    return ExitCodes.Incomplete;
                }, ct, request.DryRun ? null : LockKind.Backup);
            }
        });
        return command;
    }

    /// <summary>
    /// <c>--stdin</c>'s source, refused before the store is touched when standard input is a terminal or empty:
    /// an empty dump is far more often a failed producer (<c>pg_dump</c> that could not connect) than data.
    /// </summary>
    private static async Task<ISourceConnector> OpenStdinAsync(CliContext context, string fileName, DateTimeOffset time, CancellationToken cancellationToken)
    {
        if (!context.IsInputRedirected)
        {
            throw new CliFailure("--stdin reads what is piped in, but standard input is a terminal: pipe the data in (e.g. pg_dump db | coffer backup --stdin)");
        }

        return await StdinSource.OpenAsync(context.OpenBinaryInput(), fileName, time, cancellationToken)
            ?? throw new CliFailure("--stdin: nothing was piped in (standard input is empty); nothing stored: check the command that feeds coffer");
    }

    private static Command LsCommand(CliContext context, Option<string?> passphraseFile)
    {
        var target = new Argument<string?>("SNAPSHOT[:path]") { Description = "A snapshot (id prefix or 'latest') and a path in it; none lists the snapshots.", Arity = ArgumentArity.ZeroOrOne };
        var recursive = new Option<bool>("--recursive", "-recursive", "-r") { Description = "List everything below the path." };
        var command = new Command("ls", "List snapshots (all, or those --tag/--host/--source choose), or the content of a snapshot.") { target, recursive };
        var filterOptions = SnapshotFilterOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var filter = filterOptions.Get(parse);
            if (parse.GetValue(target) is not null && !filter.IsEmpty)
            {
                throw new CliFailure("--tag, --host and --source choose the snapshots to list: give them without a SNAPSHOT");
            }

            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var reference = parse.GetValue(target);
                if (reference is null)
                {
                    var listing = await store.ListAllSnapshotsAsync(ct);
                    if (context.IsJson)
                    {
                        var damaged = filter.IsEmpty ? listing.Damaged.Select(d => new JsonSnapshot(d.Name, d.ShortName, null, null, null, null, null, null, null, null) { Damaged = true }) : [];
                        context.Json.Write(filter.Select(listing.Snapshots).Select(JsonOutput.Snapshot).Concat(damaged).ToList(), CliJsonContext.Default.ListJsonSnapshot);
                        return ExitCodes.Success;
                    }

                    foreach (var s in filter.Select(listing.Snapshots))
                    {
                        context.Output.WriteLine(SnapshotLine(s));
                    }

                    // A damaged snapshot's time, source and tags are unknown: a filter cannot choose it, the full list shows it.
                    foreach (var d in filter.IsEmpty ? listing.Damaged : [])
                    {
                        context.Output.WriteLine($"{d.ShortName}  DAMAGED  cannot be read; remove it with '{StoreReferences.Hint(context, "repair snapshots")}'");
                    }

                    return ExitCodes.Success;
                }

                var (snapshotRef, path) = StoreReferences.SplitSnapshot(reference);
                var snapshot = await store.FindSnapshotAsync(snapshotRef, ct);
                var node = await store.ResolveAsync(snapshot, path, ct);
                void Print(Node entry, string entryPath)
                {
                    if (context.IsJson)
                    {
                        context.Json.Write(JsonOutput.Node(entry, entryPath), CliJsonContext.Default.JsonNode);
                    }
                    else
                    {
                        context.Output.WriteLine(Describe(entry, entryPath));
                    }
                }

                if (parse.GetValue(recursive))
                {
                    await foreach (var (entryPath, entry) in store.WalkAsync(node, path, ct))
                    {
                        if (entryPath.Length > 0)
                        {
                            Print(entry, entryPath);
                        }
                    }
                }
                else if (node.Subtree is { } subtree)
                {
                    foreach (var child in (await store.ReadTreeAsync(BlobId.Parse(subtree), ct)).Entries)
                    {
                        Print(child, path.Length == 0 ? child.Name : $"{path}/{child.Name}");
                    }
                }
                else
                {
                    Print(node, path);
                }

                return ExitCodes.Success;
            }, ct);
        });
        return command;
    }

    private static Command CatCommand(CliContext context, Option<string?> passphraseFile)
    {
        var target = new Argument<string>("SNAPSHOT:path") { Description = "The file to print." };
        var command = new Command("cat", "Write a file of a snapshot to standard output.") { target };
        command.SetAction(async (parse, ct) =>
        {
            var (snapshotRef, path) = StoreReferences.SplitSnapshot(parse.GetValue(target)!);
            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var snapshot = await store.FindSnapshotAsync(snapshotRef, ct);
                var node = await store.ResolveAsync(snapshot, path, ct);
                if (node.Kind != Node.FileKind)
                {
                    throw new CliFailure($"'{path}' in snapshot {snapshot.ShortId} is not a file: list it with 'coffer ls {snapshot.ShortId}:{path}'");
                }

                await context.Output.FlushAsync(ct);
                var content = new BlobSequenceStream(store, node.Content ?? [], expectedSha256: null, path);
                await using (content)
                {
                    var output = context.OpenBinaryOutput();
                    await using (output)
                    {
                        await content.CopyToAsync(output, 1 << 20, ct);
                    }
                }

                return ExitCodes.Success;
            }, ct);
        });
        return command;
    }

    private static Command RestoreCommand(CliContext context, Option<string?> passphraseFile)
    {
        var target = new Argument<string?>("SNAPSHOT[:path]") { Description = "A snapshot (id prefix or 'latest') and optionally a path in it; the latest snapshot of any source by default.", Arity = ArgumentArity.ZeroOrOne };
        var to = new Option<string?>("-to", "--to") { Description = "Where to restore: a path, a scheme://… location or @destination[:sub]; the current directory by default." };
        var includes = new Option<string[]>("--include", "-include") { Description = "Restore only paths matching a glob, with what is below them (repeatable; * ? **).", AllowMultipleArgumentsPerToken = false };
        var excludes = new Option<string[]>("--exclude", "-exclude") { Description = "Leave out paths matching a glob, with what is below them (repeatable; * ? **).", AllowMultipleArgumentsPerToken = false };
        var overwrite = new Option<string?>("--overwrite", "-overwrite") { Description = "Replace what is at the target: always, if-changed (size or mtime differ; the default), if-newer, never." };
        var delete = new Option<bool>("--delete", "-delete") { Description = "Remove what the snapshot lacks from the target, so it matches the snapshot (only inside the target)." };
        var verify = new Option<bool>("--verify", "-verify") { Description = "Read every restored file back and compare it with the snapshot's SHA-256." };
        var dryRun = new Option<bool>("--dry-run", "-dry-run") { Description = "Print what would be written and deleted; change nothing." };
        var numericOwner = new Option<bool>("--numeric-owner", "-numeric-owner") { Description = "As root, set owners and groups by number only, not by the names recorded in the snapshot." };
        var command = new Command("restore", "Restore a snapshot, or part of one.") { target, to, includes, excludes, overwrite, delete, verify, dryRun, numericOwner };
        command.SetAction(async (parse, ct) =>
        {
            // Plakar's 'restore -to DIR' without a snapshot restores the newest one, whatever its source. A
            // bare 'restore' stays a refusal: it would write into the current directory without being asked to.
            var implicitLatest = parse.GetValue(target) is null;
            if (implicitLatest && parse.GetValue(to) is null)
            {
                throw new CliFailure("give a snapshot to restore, or -to DESTINATION to restore the latest one", ExitCodes.Usage);
            }

            OverwritePolicy? policy = null;
            if (parse.GetValue(overwrite) is { } word)
            {
                policy = RestoreOptions.TryParseOverwrite(word, out var parsed)
                    ? parsed
                    : throw new CliFailure($"--overwrite takes {string.Join(", ", RestoreOptions.OverwriteWords)}, not '{word}'", ExitCodes.Usage);
            }

            var options = new RestoreOptions
            {
                Include = parse.GetValue(includes) ?? [],
                Exclude = parse.GetValue(excludes) ?? [],
                Overwrite = policy,
                Delete = parse.GetValue(delete),
                Verify = parse.GetValue(verify),
                DryRun = parse.GetValue(dryRun),
                NumericOwner = parse.GetValue(numericOwner),
            };
            var (snapshotRef, path) = StoreReferences.SplitSnapshot(parse.GetValue(target) ?? "latest");
            var destination = StoreReferences.ResolveDestination(context, parse.GetValue(to) ?? ".");
            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var snapshot = await store.FindSnapshotAsync(snapshotRef, ct);
                if (implicitLatest && !context.IsJson)
                {
                    context.Output.WriteLine($"restoring the latest snapshot {snapshot.Id} ({snapshot.Source}, {snapshot.Time.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC)");
                }

                RestoreResult result;
                RestoreRunner runner;
                string where;
                var connector = await context.Catalog.CreateDestinationAsync(destination, ct);
                await using (connector)
                {
                    var progress = new BackupProgress { OnFile = ProgressDisplay.VerboseFileLines(context) };
                    runner = new RestoreRunner(store, connector, progress, options, line => (context.IsJson ? TextWriter.Null : context.Output).WriteLine(line));
                    result = await ProgressDisplay.RunAsync(context, "restore", progress, () => runner.RunAsync(snapshot, path, ct));
                    where = connector.Description;
                }

                // Only now, the destination closed (its writes flushed to disk), is the restore reported done.
                if (context.IsJson)
                {
                    context.Json.Write(new JsonRestoreSummary(snapshot.Id, where, options.DryRun, result.Files, result.Bytes, result.Unchanged, result.Deleted,
                        runner.NotBackedUp.Select(p => new JsonPathReason(p.Path, p.Reason)).ToList(),
                        runner.NotRestored.Select(p => new JsonPathReason(p.Path, p.Reason)).ToList(),
                        runner.Damaged.Select(p => new JsonPathReason(p.Path.Length == 0 ? "/" : p.Path, p.Reason)).ToList()), CliJsonContext.Default.JsonRestoreSummary);
                }
                else
                {
                    WriteRestoreSummary(context, options, result, runner, snapshot, where);
                }

                if (runner.Damaged.Count > 0)
                {
                    var (first, why) = runner.Damaged[0];
                    var others = runner.Damaged.Count == 1 ? "" : $" (and {runner.Damaged.Count - 1} more directories)";
                    throw new CliFailure($"restore incomplete: {Node.Quote(first.Length == 0 ? "/" : first)} of snapshot {snapshot.ShortId}{others} could not be restored: {why}; the rest is restored: run '{StoreReferences.Hint(context, "check")}'");
                }

                return runner.NotBackedUp.Count + runner.NotRestored.Count > 0 ? ExitCodes.Incomplete : ExitCodes.Success;
            }, ct, LockKind.Read);
        });
        return command;
    }

    private static void WriteRestoreSummary(CliContext context, RestoreOptions options, RestoreResult result, RestoreRunner runner, Snapshot snapshot, string where)
    {
        var extra = result.Unchanged > 0 || result.Deleted > 0 ? $" ({result.Unchanged} unchanged, {result.Deleted} deleted)" : "";
        context.Output.WriteLine(options.DryRun
            ? $"dry run: would restore {result.Files} files, {Size.Format(result.Bytes)} from snapshot {snapshot.ShortId} to {where}{extra}; nothing was changed"
            : $"restored {result.Files} files, {Size.Format(result.Bytes)} from snapshot {snapshot.ShortId} to {where}{extra}");
        foreach (var (missing, reason) in runner.NotBackedUp)
        {
            context.Output.WriteLine($"not restored, the backup could not read it: {Node.Quote(missing)}: {reason}");
        }

        foreach (var (device, reason) in runner.NotRestored)
        {
            context.Output.WriteLine($"not restored: {Node.Quote(device)}: {reason}");
        }

        foreach (var (damaged, reason) in runner.Damaged)
        {
            context.Output.WriteLine($"not restored, damaged in the store: {Node.Quote(damaged.Length == 0 ? "/" : damaged)}: {reason}");
        }
    }

    private static Command CheckCommand(CliContext context, Option<string?> passphraseFile)
    {
        var target = new Argument<string?>("SNAPSHOT") { Description = "The snapshot to check; all by default.", Arity = ArgumentArity.ZeroOrOne };
        var fast = new Option<bool>("--fast", "-fast") { Description = "Only check that every blob is indexed and its pack exists; read no content." };
        var readSubset = new Option<string?>("--read-data-subset", "-read-data-subset") { Description = "Read only part of the packs: K/N (group K of N, by pack id; K=1..N reads all once) or P% (at random)." };
        var command = new Command("check", "Verify snapshots and the data they need.") { target, fast, readSubset };
        command.SetAction(async (parse, ct) =>
        {
            PackSubset? subset = null;
            if (parse.GetValue(readSubset) is { } subsetText && !PackSubset.TryParse(subsetText, out subset, out var subsetError))
            {
                throw new CliFailure(subsetError, ExitCodes.Usage);
            }

            if (subset is not null && parse.GetValue(fast))
            {
                throw new CliFailure("give --fast or --read-data-subset, not both", ExitCodes.Usage);
            }

            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var reference = parse.GetValue(target);
                var listing = reference is null ? await store.ListAllSnapshotsAsync(ct) : null;
                var snapshots = listing is not null
                    ? listing.Snapshots
                    : [await store.FindSnapshotAsync(StoreReferences.SplitSnapshot(reference!).Snapshot, ct)];
                var checker = new Checker(store) { DamagedSnapshots = listing?.Damaged ?? [] };
                var result = await ProgressDisplay.RunWithoutCountersAsync(context, "check", () => checker.RunAsync(snapshots, parse.GetValue(fast), subset, Random.Shared, ct));
                if (context.IsJson)
                {
                    static List<JsonCheckProblem> Problems(IEnumerable<CheckProblem> problems) => problems.Select(p => new JsonCheckProblem(p.Snapshot, p.Path, p.Reason)).ToList();
                    context.Json.Write(new JsonCheckSummary(result.Problems.Count == 0, snapshots.Count, result.FilesChecked, result.BlobsChecked, result.PacksRead.Count, result.PacksIndexed,
                        Problems(result.Problems), Problems(result.Incomplete)), CliJsonContext.Default.JsonCheckSummary);
                }

                foreach (var problem in context.IsJson ? [] : result.Problems)
                {
                    context.Output.WriteLine(problem.ToString());
                }

                // Files the backup could not read make a snapshot incomplete; the store holds what it was given.
                foreach (var incomplete in context.IsJson ? [] : result.Incomplete)
                {
                    context.Output.WriteLine($"incomplete: {incomplete}");
                }

                if (result.Problems.Count > 0)
                {
                    var damaged = result.Problems.Where(p => p.Snapshot is not null).Select(p => p.Snapshot!).Concat(checker.DamagedSnapshots.Select(d => d.ShortName)).Distinct().ToList();
                    throw new CliFailure(damaged.Count > 0
                        ? $"check failed: {result.Problems.Count} problems, damaged snapshots: {string.Join(", ", damaged)}"
                        : $"check failed: {result.Problems.Count} problems in the store's packs or index, no snapshot affected");
                }

                var incompleteSnapshots = result.Incomplete.Select(p => p.Snapshot).Distinct().Count();
                if (context.IsJson)
                {
                    return ExitCodes.Success;
                }

                var incompleteText = incompleteSnapshots == 0 ? "" : $"; {incompleteSnapshots} snapshots incomplete ({result.Incomplete.Count} entries the backup could not read)";
                context.Output.WriteLine(subset is null
                    ? $"check ok: {snapshots.Count} snapshots, {result.FilesChecked} files{(parse.GetValue(fast) ? "" : $", {result.BlobsChecked} blobs verified")}{incompleteText}"
                    : $"check ok: {snapshots.Count} snapshots, {result.FilesChecked} files, {result.PacksRead.Count} of {result.PacksIndexed} packs read (subset {subset.Text}), {result.BlobsChecked} blobs verified{incompleteText}");
                return ExitCodes.Success;
            }, ct, LockKind.Read);
        });
        return command;
    }

    private static Command InfoCommand(CliContext context, Option<string?> passphraseFile)
    {
        var target = new Argument<string?>("SNAPSHOT") { Description = "A snapshot; the store itself by default.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("info", "Show the store's or a snapshot's sizes and counts.") { target };
        command.SetAction(async (parse, ct) =>
        {
            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var reference = parse.GetValue(target);
                var o = context.Output;
                if (reference is not null)
                {
                    var s = await store.FindSnapshotAsync(StoreReferences.SplitSnapshot(reference).Snapshot, ct);
                    if (context.IsJson)
                    {
                        context.Json.Write(JsonOutput.Snapshot(s), CliJsonContext.Default.JsonSnapshot);
                        return ExitCodes.Success;
                    }

                    o.WriteLine($"snapshot:    {s.Id}");
                    o.WriteLine($"time:        {s.Time.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC");
                    o.WriteLine($"host:        {s.Username}@{s.Hostname}");
                    o.WriteLine($"source:      {s.Source}");
                    o.WriteLine($"tags:        {string.Join(", ", s.Tags)}");
                    o.WriteLine($"parent:      {s.Parent ?? "none"}");
                    if (s.Origin is not null)
                    {
                        o.WriteLine($"origin:      {s.Origin} (copied by sync)");
                    }

                    o.WriteLine($"files:       {s.Summary.Files} ({s.Summary.FilesUnchanged} unchanged since the parent)");
                    o.WriteLine($"directories: {s.Summary.Directories}");
                    o.WriteLine($"symlinks:    {s.Summary.Symlinks}");
                    o.WriteLine($"size:        {Size.Format(s.Summary.Bytes)}");
                    o.WriteLine($"added:       {Size.Format(s.Summary.NewBytesStored)} in {s.Summary.NewBlobs} new blobs");
                    o.WriteLine($"errors:      {s.Summary.Errors}");
                    o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"duration:    {s.Summary.Seconds:0.0}s"));
                    return ExitCodes.Success;
                }

                var snapshots = await store.ListSnapshotsAsync(ct);
                var packs = await store.ListPacksAsync(ct);
                var packBytes = packs.Values.Sum();

                var blobs = store.Index.Blobs.Select(b => b.Value).ToList();
                var data = blobs.Where(b => b.Type == BlobType.Data).ToList();
                var unique = data.Sum(b => (long)b.RawLength);
                var logical = snapshots.Sum(s => s.Summary.Bytes);
                var config = store.Config;
                var dedup = unique == 0 ? 1.0 : (double)logical / unique;
                if (context.IsJson)
                {
                    context.Json.Write(new JsonStoreInfo(config.Id, store.Description, config.Format, config.Created, config.Encryption?.Algorithm, config.Mac,
                        config.Chunker.Algorithm, config.Chunker.MinSize, config.Chunker.AverageSize, config.Chunker.MaxSize, config.Compression, config.CompressionLevel,
                        snapshots.Count, packs.Count, packBytes, data.Count, blobs.Count - data.Count, logical, unique, dedup), CliJsonContext.Default.JsonStoreInfo);
                    return ExitCodes.Success;
                }

                o.WriteLine($"store:       {config.Id} at {store.Description}");
                o.WriteLine($"format:      {config.Format}, created {config.Created.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC");
                o.WriteLine($"encryption:  {(config.Encryption is null ? "none (plaintext)" : $"{config.Encryption.Algorithm}, keys wrapped with argon2id (see 'coffer key list')")}");
                o.WriteLine($"blob ids:    {config.Mac}");
                o.WriteLine($"chunking:    {config.Chunker.Algorithm} {Size.Format(config.Chunker.MinSize)} / {Size.Format(config.Chunker.AverageSize)} / {Size.Format(config.Chunker.MaxSize)}");
                o.WriteLine($"compression: {config.Compression} level {config.CompressionLevel}");
                o.WriteLine($"snapshots:   {snapshots.Count}");
                o.WriteLine($"packs:       {packs.Count}, {Size.Format(packBytes)}");
                o.WriteLine($"blobs:       {data.Count} data, {blobs.Count - data.Count} trees");
                o.WriteLine($"content:     {Size.Format(logical)} in all snapshots, {Size.Format(unique)} unique");
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dedup ratio: {dedup:0.00}"));
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"compression: {(packBytes == 0 ? 1.0 : (double)unique / packBytes):0.00} (unique content / stored bytes)"));
                return ExitCodes.Success;
            }, ct);
        });
        return command;
    }

    /// <summary>A snapshot as <c>ls</c> lists it: id, time, size, files, source, tags and, for a copy <c>sync</c> made, the id it came from.</summary>
    internal static string SnapshotLine(Snapshot s)
    {
        var tagText = s.Tags.Count == 0 ? "" : $"  tags={string.Join(',', s.Tags)}";
        var originText = s.Origin is null ? "" : $"  origin={s.Origin[..Math.Min(8, s.Origin.Length)]}";
        var errorText = s.Summary.Errors == 0 ? "" : $"  incomplete: {s.Summary.Errors} entries not read";
        return string.Create(CultureInfo.InvariantCulture,
            $"{s.ShortId}  {s.Time.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {Size.Format(s.Summary.Bytes),10}  {s.Summary.Files,7} files  {s.Source}{tagText}{originText}{errorText}");
    }

    /// <summary>An entry as <c>ls</c> prints it: kind and mode, owner, size, mtime, path (and a link's target).</summary>
    internal static string Describe(Node node, string path)
    {
        var kind = node.Kind switch { Node.DirectoryKind => 'd', Node.SymlinkKind => 'l', _ => '-' };
        var mode = DisplayText.Mode(node.Mode);
        var target = node.Target is null ? "" : $" -> {DisplayText.Name(node.Target)}";
        return string.Create(CultureInfo.InvariantCulture, $"{kind}{mode}  {node.Uid?.ToString(CultureInfo.InvariantCulture) ?? "-",5} {node.Gid?.ToString(CultureInfo.InvariantCulture) ?? "-",5}  {Size.Format(node.Size),10}  {node.Mtime.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {DisplayText.Name(path)}{target}");
    }
}

/// <summary>Sizes for people: binary units, one decimal.</summary>
internal static class Size
{
    public static string Format(long bytes) => DisplayText.Size(bytes);
}
