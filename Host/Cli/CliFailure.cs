namespace Coffer.Cli;

/// <summary>
/// A refusal a command reports as one line on stderr with a non-zero exit code. Throw it with the whole
/// line: what went wrong, where, and what to do.
/// </summary>
internal sealed class CliFailure : Exception
{
    public CliFailure(string message, int exitCode = ExitCodes.Failure) : base(message) => ExitCode = exitCode;

    public CliFailure(string message, Exception innerException, int exitCode = ExitCodes.Failure)
        : base(message, innerException) => ExitCode = exitCode;

    public int ExitCode { get; }
}

/// <summary>The exit codes every command uses.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <summary>
    /// restic's "incomplete snapshot": a backup that could not read some entries (the snapshot holds the
    /// rest and records them), or a restore of such a snapshot (docs/reliability.md).
    /// </summary>
    public const int Incomplete = 3;
    public const int Interrupted = 130;
}
