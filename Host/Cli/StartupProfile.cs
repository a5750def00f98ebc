using System.Runtime;
using Coffer.Packager;

namespace Coffer.Cli;

/// <summary>
/// Multi-core JIT for each command (<see cref="ProfileOptimization"/>): a run records which methods it had to compile
/// (generic code over coffer's types that ReadyToRun cannot precompile, the plugins' code), and the next run of the
/// same command compiles them on a background thread ahead of use, on the core the main thread leaves idle while it
/// derives the store key or waits on storage. The profiles live in the data directory's <c>jit</c> folder, made only
/// when the data directory exists (coffer is set up there); without one that can be written, nothing changes
/// (docs/decisions.md, "Start-up: multi-core JIT").
/// </summary>
internal static class StartupProfile
{
    /// <summary>The data directory's folder for the profiles.</summary>
    public const string Folder = "jit";

    /// <summary><c>COFFER_JIT_PROFILE=0</c> turns the profiles off (a busy machine, where no core is idle to compile on).</summary>
    public const string Variable = "COFFER_JIT_PROFILE";

    // Commands that open no store and load no plugin: they compile little, so reading a profile, starting the
    // background compiler and writing the profile back at exit cost them more than it saves (the start-up
    // bench's pkg list: 2.99x hello-world with a profile, 1.95x without).
    private static readonly string[] CheapCommands = ["pkg", "connectors", "store", "source", "destination"];

    private static readonly string[] HelpFlags = ["--help", "-h", "-?", "--version"];

    private static FileStream? _held;

    /// <summary>Starts recording (and replaying) the profile of the command <paramref name="args"/> name.</summary>
    public static void Start(CofferPaths paths, string[] args)
    {
        var command = CommandWord(args);
        if (command is null || CheapCommands.Contains(command, StringComparer.Ordinal) || args.Any(HelpFlags.Contains)
            || !Directory.Exists(paths.DataDirectory) || Environment.GetEnvironmentVariable(Variable) == "0")
        {
            return;
        }

        try
        {
            var folder = Path.Combine(paths.DataDirectory, Folder);
            Directory.CreateDirectory(folder);
            var name = command.Length <= 16 && command.All(char.IsAsciiLetterLower) ? command : "other";

            // The runtime rewrites the profile in place when the process ends: two runs of one command ending
            // together could interleave their writes. One run at a time uses a profile (the lock lives as long
            // as the process); the others run as without one.
            _held = new FileStream(Path.Combine(folder, name + ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            ProfileOptimization.SetProfileRoot(folder);
            ProfileOptimization.StartProfile(name + ".profile");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No place for a profile: the command runs as it would without one.
        }
    }

    // The command's name (after 'at STORE'), so that each command replays what it compiles itself; the profile's
    // name holds only letters, so that no argument (a path, a passphrase file) ends up in a file name.
    private static string? CommandWord(string[] args)
    {
        var rest = args.Length >= 2 && args[0] == "at" ? args.Skip(2) : args;
        return rest.FirstOrDefault(a => !a.StartsWith('-'));
    }
}
