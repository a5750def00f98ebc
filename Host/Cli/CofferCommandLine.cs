using System.CommandLine;
using Coffer.Abstractions;

namespace Coffer.Host.Cli;

/// <summary>Builds the <c>coffer</c> command tree and runs it, turning refusals into one line and an exit code.</summary>
internal static class CofferCommandLine
{
    public static RootCommand Build(CliContext context)
    {
        var root = new RootCommand("coffer: encrypted, deduplicated backups and a Keep block server over pluggable storage.");
        root.Subcommands.Add(ConnectorsCommand.Create(context));
        var passphraseFile = new Option<string?>("--passphrase-file", "-passphrase-file")
        {
            Description = "Read the store's passphrase from the first line of FILE (else COFFER_PASSPHRASE, else a prompt).",
            Recursive = true,
        };
        root.Options.Add(passphraseFile);
        foreach (var command in StoreCommands.Create(context, passphraseFile))
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(NamedConnectorCommands.Create(context, ConnectorKind.Storage));
        root.Subcommands.Add(NamedConnectorCommands.Create(context, ConnectorKind.Source));
        root.Subcommands.Add(NamedConnectorCommands.Create(context, ConnectorKind.Destination));

        // Shown in help only: 'at STORE' is taken off the arguments before parsing (see RunAsync).
        var at = new Command("at", "Run a store command on STORE (a path, scheme://… or @name) instead of the default store: coffer at STORE COMMAND …");
        at.Arguments.Add(new Argument<string>("STORE"));
        at.SetAction(int (_) => throw new CliFailure("give a command after the store: coffer at STORE create|backup|ls|cat|restore|check|info"));
        root.Subcommands.Add(at);
        root.Subcommands.Add(PkgCommand.Create(context));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken)
    {
        var root = Build(context);
        try
        {
            if (args.Length >= 3 && args[0] == "at")
            {
                context.StoreReference = args[1];
                args = args[2..];
            }

            // '@name' is how stores, sources and destinations are named, never a response file.
            var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
            if (parsed.Errors.Count > 0)
            {
                // One line, not a help page: the user sees what was wrong and where to look.
                await context.Error.WriteLineAsync($"coffer: {parsed.Errors[0].Message} (see 'coffer --help')").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancellationToken).ConfigureAwait(false);
        }
        catch (CliFailure failure)
        {
            await context.Error.WriteLineAsync($"coffer: {failure.Message}").ConfigureAwait(false);
            return failure.ExitCode;
        }
        catch (Backup.StoreException e)
        {
            await context.Error.WriteLineAsync($"coffer: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (ConnectorException e)
        {
            await context.Error.WriteLineAsync($"coffer: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The file system's own words name the path; one line, never a stack trace.
            await context.Error.WriteLineAsync($"coffer: {e.Message.Split('\n', 2)[0]}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync("coffer: interrupted").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
    }
}
