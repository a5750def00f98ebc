using System.CommandLine;
using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Keep;
using Coffer.Plumbing;

namespace Coffer.Cli;

/// <summary>Builds the <c>coffer</c> command tree and runs it, turning refusals into one line and an exit code.</summary>
internal static class CofferCommandLine
{
    /// <summary>Set to 1 to print whole exceptions instead of one line.</summary>
    public const string DebugVariable = "COFFER_DEBUG";

    /// <summary>Builds the whole command tree (what help and usage errors describe).</summary>
    public static RootCommand Build(CliContext context) => Build(context, null);

    /// <summary>
    /// Builds the tree a command line needs: when its first word names a top-level command, only the part
    /// holding that command (building every command's options is a measurable share of start-up: docs/decisions.md);
    /// else all of it.
    /// </summary>
    public static RootCommand Build(CliContext context, string? firstWord)
    {
        var root = new RootCommand("coffer: encrypted, deduplicated backups and a Keep block server over pluggable storage.");
        var passphraseFile = new Option<string?>("--passphrase-file", "-passphrase-file")
        {
            Description = "Read the store's passphrase from the first line of FILE (else COFFER_PASSPHRASE, else a prompt).",
            Recursive = true,
        };
        root.Options.Add(passphraseFile);
        root.Options.Add(new Option<bool>(JsonOption) { Description = "Print JSON documents, one a line, and errors as one JSON object on stderr (docs/json.md).", Recursive = true });
        root.Options.Add(new Option<bool>(QuietOption, "-q") { Description = "Print errors only (the exit code still tells the outcome).", Recursive = true });
        root.Options.Add(new Option<bool>(VerboseOption, "-v") { Description = "Print more: backup a line per new or modified file, restore a line per file written (not with --json or --quiet).", Recursive = true });
        root.Options.Add(new Option<string?>(LimitUploadOption) { Description = "Write to every connector (store, destination) at most this many bytes per second: 10MiB, 500K, 1048576 (K, M, G are powers of 1024).", Recursive = true });
        root.Options.Add(new Option<string?>(LimitDownloadOption) { Description = "Read from every connector (store, source) at most this many bytes per second (units as --limit-upload).", Recursive = true });
        var parts = Parts(context, passphraseFile);
        var needed = firstWord is null ? null : Array.Find(parts, part => part.Names.Contains(firstWord, StringComparer.Ordinal));
        foreach (var part in needed is null ? parts : [needed])
        {
            foreach (var command in part.Create())
            {
                root.Subcommands.Add(command);
            }
        }

        return root;
    }

    private const string JsonOption = "--json";
    private const string QuietOption = "--quiet";
    private const string VerboseOption = "--verbose";
    private const string LimitUploadOption = "--limit-upload";
    private const string LimitDownloadOption = "--limit-download";

    // The global flags that may come before the command word; the limits take a value.
    private static int LeadingGlobalFlags(string[] args)
    {
        var count = 0;
        while (count < args.Length)
        {
            var arg = args[count];
            if (arg is JsonOption or QuietOption or "-q" or VerboseOption or "-v"
                || arg.StartsWith(LimitUploadOption + "=", StringComparison.Ordinal) || arg.StartsWith(LimitDownloadOption + "=", StringComparison.Ordinal))
            {
                count++;
            }
            else if (arg is LimitUploadOption or LimitDownloadOption && count + 1 < args.Length)
            {
                count += 2;
            }
            else
            {
                break;
            }
        }

        return count;
    }

    // --verbose and --quiet contradict each other; --verbose adds lines that --json has fields for.
    private static void ApplyGlobalOptions(ParseResult parsed, CliContext context)
    {
        context.Quiet = parsed.GetValue<bool>(QuietOption);
        context.Verbose = parsed.GetValue<bool>(VerboseOption);
        if (context.Verbose && context.Quiet)
        {
            throw new CliFailure("--verbose and --quiet contradict each other: give one of them", ExitCodes.Usage);
        }

        if (context.Verbose && context.IsJson)
        {
            throw new CliFailure("--verbose adds human lines, which --json does not print (its documents have the fields): give one of them", ExitCodes.Usage);
        }

        context.Limits = new TransferLimits(Rate(parsed, LimitUploadOption, context.Time), Rate(parsed, LimitDownloadOption, context.Time));
    }

    private static Throttle? Rate(ParseResult parsed, string option, TimeProvider time)
    {
        if (parsed.GetValue<string?>(option) is not { } text)
        {
            return null;
        }

        return Throttle.TryParseRate(text, out var rate) ? new Throttle(rate, time)
            : throw new CliFailure($"{option} '{text}' is not a rate: give bytes per second, e.g. 10MiB, 500K or 1048576 (K, M, G are powers of 1024)", ExitCodes.Usage);
    }

    /// <summary>The top-level commands, in the order help lists them, each part with the names it adds.</summary>
    internal static TreePart[] Parts(CliContext context, Option<string?> passphraseFile) =>
    [
        new(["connectors"], () => [ConnectorsCommand.Create(context)]),
        new([KeepstoreCommand.Name], () => [KeepstoreCommand.Create(context)]),
        new(StoreCommandNames, () => StoreCommands.Create(context, passphraseFile)),
        new([FindCommand.Name], () => [FindCommand.Create(context, passphraseFile)]),
        new([DumpCommand.Name], () => [DumpCommand.Create(context, passphraseFile)]),
        new([TagCommand.Name], () => [TagCommand.Create(context, passphraseFile)]),
        new([UiCommand.Name], () => [UiCommand.Create(context, passphraseFile)]),
        new([SyncCommand.Name], () => [SyncCommand.Create(context, passphraseFile)]),
        new([KeyCommand.Name], () => [KeyCommand.Create(context, passphraseFile)]),
        new([RepairCommand.Name], () => [RepairCommand.Create(context, passphraseFile)]),
        new(["store"], () => [NamedConnectorCommands.Create(context, ConnectorKind.Storage)]),
        new(["source"], () => [NamedConnectorCommands.Create(context, ConnectorKind.Source)]),
        new(["destination"], () => [NamedConnectorCommands.Create(context, ConnectorKind.Destination)]),
        new(["at"], () => [AtCommand()]),
        new(["pkg"], () => [PkgCommand.Create(context)]),
    ];

    // The names StoreCommands.Create adds (a test holds the two together).
    internal static readonly string[] StoreCommandNames =
        ["create", "backup", "ls", "cat", "restore", "check", "info", "diff", "rm", "maintenance", "unlock", "ptar"];

    /// <summary>Part of the command tree: the top-level commands it adds, built only when needed.</summary>
    internal sealed record TreePart(string[] Names, Func<IEnumerable<Command>> Create);

    // Shown in help only: 'at STORE' is taken off the arguments before parsing (see RunAsync).
    private static Command AtCommand()
    {
        var at = new Command("at", "Run a store command on STORE (a path, scheme://… or @name) instead of the default store: coffer at STORE COMMAND …");
        at.Arguments.Add(new Argument<string>("STORE"));
        at.SetAction(int (_) => throw new CliFailure("give a command after the store: coffer at STORE create|backup|ls|find|cat|dump|tag|key|sync|ui|restore|check|info|diff|rm|maintenance|repair|unlock|ptar"));
        return at;
    }

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken)
    {
        // Every line below may echo what the user typed: a location's query string (a SAS) is masked.
        var typed = args;
        async Task<int> Fail(string line, int exitCode)
        {
            var masked = StoreReferences.MaskQueryValues(line, typed);
            await context.Error.WriteLineAsync(context.IsJson ? JsonOutput.Error(exitCode, masked) : $"coffer: {masked}");
            return exitCode;
        }

        // Known before parsing, so that a usage error is already reported the way the user asked.
        context.IsJson = args.Contains(JsonOption, StringComparer.Ordinal);
        try
        {
            if (args is [KeepstoreCommand.Name, .. var keepstoreArgs])
            {
                // keepstore's Go-style flags have positional meaning; they reach its own parser untouched.
                return await KeepstoreCommand.RunAsync(context, keepstoreArgs, cancellationToken);
            }

            // 'coffer --json at STORE ls': global flags typed first move behind the command word, so that
            // 'at' and the choice of the part of the tree to build still see the command first.
            var leading = args[..LeadingGlobalFlags(args)];
            args = args[leading.Length..];
            if (args.Length >= 3 && args[0] == "at")
            {
                context.StoreReference = args[1];
                args = args[2..];
            }

            args = args.Length > 0 ? [args[0], .. leading, .. args[1..]] : leading;

            var root = Build(context, args.FirstOrDefault());

            // '@name' is how stores, sources and destinations are named, never a response file.
            var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
            if (parsed.Errors.Count > 0)
            {
                // One line, not a help page: the user sees what was wrong and where to look. A stray word
                // explains more than the "required command" error it causes, so it goes first.
                var problem = parsed.UnmatchedTokens.Count > 0
                    ? $"unknown command or argument '{parsed.UnmatchedTokens[0]}'"
                    : parsed.Errors[0].Message.TrimEnd('.');
                return await Fail($"{Redacted(problem, args)} (see 'coffer --help')", ExitCodes.Usage);
            }

            ApplyGlobalOptions(parsed, context);

            // Program owns Ctrl-C: System.CommandLine's own handler would cancel a token of its own (which
            // the catch below cannot tell from a bug) and return 130 after a timeout while locks are held.
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cancellationToken);
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && IsCancellation(e))
        {
            return await Fail("interrupted", ExitCodes.Interrupted);
        }
        catch (CliFailure failure)
        {
            return await Fail(failure.Message, failure.ExitCode);
        }
        catch (KeepConfigurationException e)
        {
            return await Fail(e.Message, ExitCodes.Failure);
        }
        catch (StoreException e)
        {
            return await Fail(FirstLine(e.Message), ExitCodes.Failure);
        }
        catch (ConnectorException e)
        {
            return await Fail(e.Message, ExitCodes.Failure);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return await Fail(FirstLine(e.Message), ExitCodes.Failure);
        }
#pragma warning disable CA1031 // The last resort: a bug still gets one line, details only on request.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var details = Environment.GetEnvironmentVariable(DebugVariable) == "1"
                ? e.ToString()
                : $"{e.GetType().Name}: {FirstLine(e.Message)} (set {DebugVariable}=1 for details)";
            return await Fail($"internal error: {details}", ExitCodes.Failure);
        }
    }

    // Cancellation may arrive wrapped (a connector's or the store's exception around the cancelled call).
    private static bool IsCancellation(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is OperationCanceledException || (e is AggregateException aggregate && aggregate.InnerExceptions.Any(IsCancellation)))
            {
                return true;
            }
        }

        return false;
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].TrimEnd();

    // A misplaced key=value may carry a key, a token or a connection string: a usage error names the key only.
    private static string Redacted(string problem, IEnumerable<string> args)
    {
        foreach (var arg in args)
        {
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && equals < arg.Length - 1)
            {
                problem = problem.Replace(arg[(equals + 1)..], "…", StringComparison.Ordinal);
            }
        }

        return problem;
    }
}
