using System.Security.Cryptography;
using System.Text;
using Coffer.Plumbing;

namespace Coffer.Cli;

/// <summary>
/// Where a store's passphrase comes from, first match wins: <c>--passphrase-file</c>, <c>COFFER_PASSPHRASE</c>,
/// for the default store the generated <c>default-store.passphrase</c> in the config directory, and
/// last a prompt on the terminal (twice when creating). Passphrases are never printed or logged.
/// </summary>
internal static class Passphrases
{
    public const string Variable = "COFFER_PASSPHRASE";

    /// <summary>The destination store's passphrase for <c>sync</c>.</summary>
    public const string DestinationVariable = "COFFER_TO_PASSPHRASE";
    public const string DefaultStoreFile = "default-store.passphrase";

    public static string DefaultStorePath(CliContext context) => Path.Combine(context.Paths.ConfigDirectory, DefaultStoreFile);

    /// <summary>The passphrase for a new store.</summary>
    public static string ForCreate(CliContext context, string? passphraseFile, bool isDefaultStore)
    {
        if (Explicit(passphraseFile, Variable) is { } given)
        {
            return given;
        }

        if (context.IsInteractive)
        {
            return PromptNew("nothing was created", "give one, or use 'create --plaintext'");
        }

        if (isDefaultStore)
        {
            // Unattended first run: a random passphrase only this user can read, used by later runs.
            var generated = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var path = WriteDefaultStoreFile(context, generated);
            context.Error.WriteLine($"coffer: generated the default store's passphrase into {path}: keep a copy of it elsewhere, the store cannot be read without it");
            return generated;
        }

        throw new CliFailure($"no passphrase: set {Variable}, give --passphrase-file FILE, run on a terminal, or use 'create --plaintext'");
    }

    /// <summary>The passphrase of a new key of an existing store: <c>--new-passphrase-file</c>, else a prompt (twice).</summary>
    public static string ForNewKey(CliContext context, string? newPassphraseFile)
    {
        if (newPassphraseFile is not null)
        {
            return ReadFile(newPassphraseFile);
        }

        return context.IsInteractive
            ? PromptNew("nothing was changed", "give one")
            : throw new CliFailure("no new passphrase: give --new-passphrase-file FILE, or run on a terminal");
    }

    /// <summary>Whether <see cref="ForOpen"/> takes the default store's passphrase from its generated file.</summary>
    public static bool OpensWithDefaultStoreFile(CliContext context, string? passphraseFile) =>
        context.StoreReference is null && passphraseFile is null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)) && File.Exists(DefaultStorePath(context));

    /// <summary>Writes the default store's passphrase file (only this user can read it); returns its path.</summary>
    public static string WriteDefaultStoreFile(CliContext context, string passphrase)
    {
        var path = DefaultStorePath(context);
        Directory.CreateDirectory(context.Paths.ConfigDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Durable and 0600 from its first byte: never partly written, never readable by others.
        DurableFile.Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(passphrase + "\n")), DurableFile.Private);
        return path;
    }

    /// <summary>The passphrase for an existing store; asked only when the store is encrypted.</summary>
    public static string ForOpen(CliContext context, string? passphraseFile, bool isDefaultStore)
    {
        if (Explicit(passphraseFile, Variable) is { } given)
        {
            return given;
        }

        var defaultFile = DefaultStorePath(context);
        if (isDefaultStore && File.Exists(defaultFile))
        {
            return ReadFile(defaultFile);
        }

        if (context.IsInteractive)
        {
            return Prompt("passphrase: ");
        }

        throw new CliFailure($"the store is encrypted and no passphrase was given: set {Variable} or give --passphrase-file FILE");
    }

    /// <summary>
    /// The passphrase of <c>sync</c>'s destination store, first match wins: <c>--to-passphrase-file</c>,
    /// <c>COFFER_TO_PASSPHRASE</c>, a prompt on the terminal. The source's passphrase never opens it.
    /// </summary>
    public static string ForDestination(CliContext context, string? passphraseFile)
    {
        if (Explicit(passphraseFile, DestinationVariable) is { } given)
        {
            return given;
        }

        return context.IsInteractive
            ? Prompt("destination passphrase: ")
            : throw new CliFailure($"the destination store is encrypted and no passphrase was given for it: set {DestinationVariable} or give --to-passphrase-file FILE");
    }

    private static string? Explicit(string? passphraseFile, string variableName)
    {
        if (passphraseFile is not null)
        {
            return ReadFile(passphraseFile);
        }

        var variable = Environment.GetEnvironmentVariable(variableName);
        return string.IsNullOrEmpty(variable) ? null : variable;
    }

    private static string ReadFile(string path)
    {
        try
        {
            // The first line, so files written by echo (with a newline) work.
            var text = File.ReadAllText(path);
            const UnixFileMode groupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
            if ((File.GetUnixFileMode(path) & groupOrOthers) != 0)
            {
                Console.Error.WriteLine($"coffer: warning: the passphrase file {path} is open to group or others: chmod 600 {path}");
            }

            var line = text.Split('\n', 2)[0].TrimEnd('\r');
            return line.Length > 0 ? line : throw new CliFailure($"the passphrase file {path} is empty: write the passphrase on its first line");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliFailure($"cannot read the passphrase file {path}: {e.Message}");
        }
    }

    private static string PromptNew(string nothingDone, string emptyHint)
    {
        var first = Prompt("new passphrase: ");
        var second = Prompt("repeat passphrase: ");
        if (first != second)
        {
            throw new CliFailure($"the passphrases differ: {nothingDone}, try again");
        }

        return first.Length > 0 ? first : throw new CliFailure($"an empty passphrase protects nothing: {emptyHint}");
    }

    private static string Prompt(string prompt)
    {
        Console.Error.Write(prompt);
        var text = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0)
                {
                    text.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return text.ToString();
    }
}
