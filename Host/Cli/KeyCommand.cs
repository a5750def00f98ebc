using System.CommandLine;
using System.Globalization;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Crypto;

namespace Coffer.Cli;

/// <summary>
/// <c>coffer key list|add|remove ID|passwd</c> (restic's key): the passphrases that open an encrypted store,
/// each a key object wrapping the one master key (docs/store-format.md, "Keys").
/// </summary>
internal static class KeyCommand
{
    public const string Name = "key";

    public static Command Create(CliContext context, Option<string?> passphraseFile)
    {
        var command = new Command(Name, "List, add, remove the store's keys (one per passphrase), or change the passphrase of the key in use.");
        command.Subcommands.Add(ListCommand(context, passphraseFile));
        command.Subcommands.Add(AddCommand(context, passphraseFile));
        command.Subcommands.Add(RemoveCommand(context, passphraseFile));
        command.Subcommands.Add(PasswdCommand(context, passphraseFile));
        return command;
    }

    private static Command ListCommand(CliContext context, Option<string?> passphraseFile)
    {
        var command = new Command("list", "List the store's keys: id, created, host, user; * marks the key that opened it.");
        command.SetAction(async (parse, ct) => await WithKeysAsync(context, parse.GetValue(passphraseFile), changes: false, async store =>
        {
            var keys = await StoreKeyring.ListAsync(store, ct);
            if (context.IsJson)
            {
                context.Json.Write(keys.Select(k => new JsonKey(k.Id, k.Created, k.Hostname, k.Username, k.InUse, k.InConfig)).ToList(), CliJsonContext.Default.ListJsonKey);
                return;
            }

            var rows = keys.Select(k => new[]
            {
                (k.InUse ? "* " : "  ") + StoreKeyring.Short(k.Id),
                k.Created.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture),
                k.Hostname ?? "-",
                k.Username ?? "-",
                k.InConfig ? "kept in CONFIG (cannot be removed)" : "",
            }).Prepend(["  id", "created", "host", "user", ""]).ToList();
            var widths = Enumerable.Range(0, 4).Select(column => rows.Max(row => row[column].Length)).ToArray();
            foreach (var row in rows)
            {
                context.Output.WriteLine(string.Join("  ", row.Select((cell, column) => column < widths.Length ? cell.PadRight(widths[column]) : cell)).TrimEnd());
            }

            context.Output.WriteLine($"{keys.Count} key{(keys.Count == 1 ? "" : "s")}; * opened the store now");
        }, ct));
        return command;
    }

    // One JSON result under --json, else the human line.
    private static void WriteChange(CliContext context, string command, string? added, string? removed, string line)
    {
        if (context.IsJson)
        {
            context.Json.Write(new JsonKeyChange(command, added, removed), CliJsonContext.Default.JsonKeyChange);
        }
        else
        {
            context.Output.WriteLine(line);
        }
    }

    private static Command AddCommand(CliContext context, Option<string?> passphraseFile)
    {
        var newPassphraseFile = NewPassphraseFileOption();
        var command = new Command("add", "Add a key: another passphrase that opens the store.") { newPassphraseFile };
        command.SetAction(async (parse, ct) => await WithKeysAsync(context, parse.GetValue(passphraseFile), changes: true, async store =>
        {
            var passphrase = Passphrases.ForNewKey(context, parse.GetValue(newPassphraseFile));
            var id = await StoreKeyring.AddAsync(store, passphrase, context.Time, Environment.MachineName, ct);
            WriteChange(context, "key add", id, null, $"added key {StoreKeyring.Short(id)}");
        }, ct));
        return command;
    }

    private static Command RemoveCommand(CliContext context, Option<string?> passphraseFile)
    {
        var id = new Argument<string>("ID") { Description = "The key to remove: its id or a unique prefix of it (see 'coffer key list')." };
        var command = new Command("remove", "Remove a key: its passphrase no longer opens the store. Never the last key, nor the one in use.") { id };
        command.SetAction(async (parse, ct) => await WithKeysAsync(context, parse.GetValue(passphraseFile), changes: true, async store =>
        {
            var removed = await StoreKeyring.RemoveAsync(store, parse.GetValue(id)!, ct);
            WriteChange(context, "key remove", null, removed, $"removed key {StoreKeyring.Short(removed)}");
        }, ct));
        return command;
    }

    private static Command PasswdCommand(CliContext context, Option<string?> passphraseFile)
    {
        var newPassphraseFile = NewPassphraseFileOption();
        var command = new Command("passwd", "Change the passphrase of the key in use: adds a key for the new one, then removes the old key.") { newPassphraseFile };
        command.SetAction(async (parse, ct) =>
        {
            var currentFile = parse.GetValue(passphraseFile);
            var defaultFile = Passphrases.OpensWithDefaultStoreFile(context, currentFile);
            return await WithKeysAsync(context, currentFile, changes: true, async store =>
            {
                var passphrase = Passphrases.ForNewKey(context, parse.GetValue(newPassphraseFile));
                var (added, removed) = await StoreKeyring.ChangePassphraseAsync(store, passphrase, context.Time, Environment.MachineName, ct);
                WriteChange(context, "key passwd", added, removed, $"changed the passphrase: key {StoreKeyring.Short(added)} replaces key {StoreKeyring.Short(removed)}");
                if (defaultFile)
                {
                    // The default store opened with the generated file: later runs must find the new passphrase there.
                    var path = Passphrases.WriteDefaultStoreFile(context, passphrase);
                    context.Error.WriteLine($"coffer: wrote the new passphrase into {path}");
                }
            }, ct);
        });
        return command;
    }

    private static Option<string?> NewPassphraseFileOption() =>
        new("--new-passphrase-file", "-new-passphrase-file") { Description = "Read the new passphrase from the first line of FILE (else a prompt, twice)." };

    // Key commands read no index and take no lock: key objects are apart from everything a backup or
    // maintenance touches, and a running command keeps the master key it unwrapped.
    private static Task<int> WithKeysAsync(CliContext context, string? passphraseFile, bool changes, Func<CofferStore, Task> action, CancellationToken cancellationToken) =>
        StoreReferences.WithUnindexedStoreAsync(context, passphraseFile, async store =>
        {
            if (store.KeyId is null)
            {
                throw new CliFailure("a plaintext store has no keys: nothing opens it but access to its storage, so there is no passphrase to list or change");
            }

            if (changes && store.IsReadOnly)
            {
                throw new CliFailure($"{store.Description} is read-only: its keys cannot change");
            }

            await action(store);
            return ExitCodes.Success;
        }, cancellationToken);
}
