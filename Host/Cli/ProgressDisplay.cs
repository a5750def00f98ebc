using System.Diagnostics;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Spectre.Console;

namespace Coffer.Cli;

/// <summary>
/// Progress of a long command: under <c>--json</c> status lines (docs/json.md); else bars (files, bytes, rate,
/// time left) on a terminal, and nothing at all when output goes to a pipe or file, <c>NO_COLOR</c> is set or
/// <c>--quiet</c> was given.
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>True when the user asked for no colours (https://no-color.org: set and not empty).</summary>
    public static bool NoColor => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));

    /// <summary>
    /// <c>--verbose</c>'s line per file (<c>new "path"</c>, <c>modified "path"</c>, <c>restored "path"</c>), or null without it.
    /// The runners report from several threads: the lines are written one at a time.
    /// </summary>
    public static Action<string, string>? VerboseFileLines(CliContext context)
    {
        if (!context.Verbose)
        {
            return null;
        }

        var gate = new Lock();
        return (what, path) =>
        {
            lock (gate)
            {
                context.VerboseOutput.WriteLine($"{what,-9}{Node.Quote(path)}");
            }
        };
    }

    public static async Task<T> RunAsync<T>(CliContext context, string title, BackupProgress progress, Func<Task<T>> work)
    {
        if (context.IsJson)
        {
            return await RunWithStatusLinesAsync(context, title, progress, work);
        }

        // --verbose lines on stdout would tear a bar drawn on the same terminal.
        if (!context.IsInteractive || Console.IsOutputRedirected || NoColor || context.Quiet || context.Verbose)
        {
            return await work();
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var bar = ctx.AddTask(title);
                var task = work();
                while (!task.IsCompleted)
                {
                    bar.MaxValue = Math.Max(1, progress.PlannedBytes);
                    bar.Value = Math.Min(progress.DoneBytes, bar.MaxValue);
                    bar.Description = $"{title} {progress.DoneFiles}/{progress.PlannedFiles} files";
                    await Task.WhenAny(task, Task.Delay(200));
                }

                result = await task;
            });
        return result;
    }

    /// <summary>
    /// A long command without progress counters (<c>check</c>, <c>maintenance</c>): under <c>--json</c> its status lines
    /// (counters 0, <c>seconds_elapsed</c> running) tell a wrapper it is alive; nothing is drawn otherwise.
    /// </summary>
    public static Task<T> RunWithoutCountersAsync<T>(CliContext context, string title, Func<Task<T>> work) =>
        context.IsJson ? RunWithStatusLinesAsync(context, title, new BackupProgress(), work) : work();

    // One status line when the work starts, one a second while it runs, one when it ends: a wrapper sees at least two.
    private static async Task<T> RunWithStatusLinesAsync<T>(CliContext context, string title, BackupProgress progress, Func<Task<T>> work)
    {
        var clock = Stopwatch.StartNew();
        void Status()
        {
            var planned = progress.PlannedBytes;
            var done = progress.DoneBytes;
            context.Json.WriteStatus(new JsonStatus(title, planned == 0 ? 0 : Math.Min(1.0, (double)done / planned), progress.PlannedFiles, progress.DoneFiles, planned, done, clock.Elapsed.TotalSeconds));
        }

        Status();
        var task = work();
        while (!task.IsCompleted)
        {
            await Task.WhenAny(task, Task.Delay(1000));
            if (!task.IsCompleted)
            {
                Status();
            }
        }

        var result = await task;
        Status();
        return result;
    }
}
