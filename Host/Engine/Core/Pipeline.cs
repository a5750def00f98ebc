using System.Runtime.ExceptionServices;

namespace Coffer.Engine.Core;

/// <summary>Waits for the stages of a pipeline and reports the failure that started it, not the cancellations it caused.</summary>
internal static class Pipeline
{
    public static async Task WhenAllAsync(params Task[] stages)
    {
        try
        {
            await Task.WhenAll(stages).ConfigureAwait(false);
        }
        catch
        {
            var real = stages.Where(t => t.IsFaulted)
                .SelectMany(t => t.Exception!.Flatten().InnerExceptions)
                .FirstOrDefault(e => e is not OperationCanceledException);
            if (real is not null)
            {
                ExceptionDispatchInfo.Throw(real);
            }

            throw;
        }
    }

    /// <summary>Runs a stage on the thread pool; its failure cancels the others.</summary>
    public static Task Stage(CancellationTokenSource failure, Func<Task> stage) => Task.Run(async () =>
    {
        try
        {
            await stage().ConfigureAwait(false);
        }
        catch
        {
            await failure.CancelAsync().ConfigureAwait(false);
            throw;
        }
    });
}
