using System.CommandLine;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Dump;
using Coffer.Engine.Repository.Locks;

namespace Coffer.Cli;

/// <summary><c>coffer dump SNAPSHOT[:path]</c>: a file as its content, a directory as a tar or zip stream (restic's dump).</summary>
internal static class DumpCommand
{
    public const string Name = "dump";

    public static Command Create(CliContext context, Option<string?> passphraseFile)
    {
        var target = new Argument<string>("SNAPSHOT[:path]") { Description = "A snapshot (id prefix or 'latest') and a file or directory in it; its root by default." };
        var archive = new Option<string?>("--archive", "-archive", "-a") { Description = "tar (the default for a directory) or zip; given for a file, the file is archived alone." };
        var output = new Option<string?>("--output", "-output", "-o") { Description = "Write to FILE (replaced only once complete) instead of standard output." };
        var command = new Command(Name, "Write a file of a snapshot as its content, or a directory as a tar or zip archive, with modes, mtimes and symlinks.") { target, archive, output };
        command.SetAction(async (parse, ct) =>
        {
            DumpFormat? requested = parse.GetValue(archive) switch
            {
                null => null,
                "tar" => DumpFormat.Tar,
                "zip" => DumpFormat.Zip,
                var other => throw new CliFailure($"--archive '{other}' is not an archive format: give tar or zip"),
            };
            var file = parse.GetValue(output) is { } given ? Path.GetFullPath(given) : null;
            if (file is not null && !Directory.Exists(Path.GetDirectoryName(file)))
            {
                throw new CliFailure($"cannot write {file}: its directory does not exist");
            }

            var (snapshotRef, path) = StoreReferences.SplitSnapshot(parse.GetValue(target)!);
            return await StoreReferences.WithStoreAsync(context, parse.GetValue(passphraseFile), async store =>
            {
                var snapshot = await store.FindSnapshotAsync(snapshotRef, ct);
                var node = await store.ResolveAsync(snapshot, path, ct);
                if (node.Kind == Node.SymlinkKind && requested is null)
                {
                    throw new CliFailure($"'{path}' in snapshot {snapshot.ShortId} is a symlink to '{node.Target}': dump what it points to, or the link itself with --archive tar");
                }

                var format = SnapshotDump.FormatFor(node, requested);
                if (file is null && format != DumpFormat.Content && !Console.IsOutputRedirected)
                {
                    throw new CliFailure("an archive is not for a terminal: give -o FILE, or send the output to a pipe or a file");
                }

                var dump = new SnapshotDump(store);
                if (file is null)
                {
                    await context.Output.FlushAsync(ct);
                    var stdout = context.OpenBinaryOutput();
                    await using (stdout)
                    {
                        await dump.WriteAsync(snapshot, node, path, format, stdout, ct);
                    }

                    return ExitCodes.Success;
                }

                // Written aside and renamed: a failed dump leaves no half archive under the name asked for.
                var partial = file + ".partial";
                try
                {
                    DumpResult result;
                    var stream = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                    await using (stream)
                    {
                        result = await dump.WriteAsync(snapshot, node, path, format, stream, ct);
                        stream.Flush(flushToDisk: true);
                    }

                    File.Move(partial, file, overwrite: true);
                    context.Output.WriteLine(format == DumpFormat.Content
                        ? $"wrote {path} of snapshot {snapshot.ShortId} to {file}: {Size.Format(result.Bytes)}"
                        : $"wrote {(path.Length == 0 ? "snapshot" : path + " of snapshot")} {snapshot.ShortId} to {file} as {format.ToString().ToLowerInvariant()}: {result.Entries} entries, {Size.Format(result.Bytes)}");
                    return ExitCodes.Success;
                }
                finally
                {
                    File.Delete(partial);
                }
            }, ct, LockKind.Read);
        });
        return command;
    }
}
