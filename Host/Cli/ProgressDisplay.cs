using Coffer.Engine.Operations.Backup;
using Spectre.Console;

namespace Coffer.Cli;

/// <summary>Progress bars (files, bytes, rate, time left) on a terminal; nothing at all when output goes to a pipe or file.</summary>
internal static class ProgressDisplay
{
    public static async Task<T> RunAsync<T>(CliContext context, string title, BackupProgress progress, Func<Task<T>> work)
    {
        if (!context.IsInteractive || Console.IsOutputRedirected)
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
}
