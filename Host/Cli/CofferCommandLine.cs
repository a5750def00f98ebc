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
        root.Subcommands.Add(PkgCommand.Create(context));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken)
    {
        var root = Build(context);
        try
        {
            var parsed = root.Parse(args);
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
        catch (ConnectorException e)
        {
            await context.Error.WriteLineAsync($"coffer: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync("coffer: interrupted").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
    }
}
