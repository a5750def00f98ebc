using System.Collections.Concurrent;
using System.Security.Cryptography;
using Coffer.Abstractions;
using Coffer.Engine.Core;

namespace Coffer.Ui;

/// <summary>A restore or a check started from a page: it runs in the background while its page shows the progress.</summary>
internal sealed class UiJob
{
    private readonly Func<string> _progress;

    public UiJob(string id, string title, Func<string> progress)
    {
        Id = id;
        Title = title;
        _progress = progress;
    }

    public string Id { get; }

    public string Title { get; }

    /// <summary>Set once the work has ended.</summary>
    public bool IsDone { get; private set; }

    /// <summary>The outcome in one line: what was done, or what went wrong.</summary>
    public string? Outcome { get; private set; }

    public bool Failed { get; private set; }

    public string Progress => _progress();

    public void Finish(string outcome, bool failed)
    {
        Outcome = outcome;
        Failed = failed;
        IsDone = true;
    }
}

/// <summary>The jobs of this server, by their random ids (an id cannot be guessed to watch another's job).</summary>
internal sealed class UiJobs(CancellationToken stopping)
{
    private readonly ConcurrentDictionary<string, UiJob> _jobs = new(StringComparer.Ordinal);

    public UiJob? Find(string id) => _jobs.GetValueOrDefault(id);

    /// <summary>Starts <paramref name="work"/> (which returns the line to show at the end) and returns its job at once.</summary>
    public UiJob Start(string title, Func<string> progress, Func<CancellationToken, Task<string>> work)
    {
        var job = new UiJob(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), title, progress);
        _jobs[job.Id] = job;
        _ = Task.Run(async () =>
        {
            try
            {
                job.Finish(await work(stopping).ConfigureAwait(false), failed: false);
            }
#pragma warning disable CA1031 // A job's failure is shown on its page, whatever it is; nothing else would see it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                job.Finish(OneLine(e), failed: true);
            }
        }, CancellationToken.None);
        return job;
    }

    /// <summary>A failure as one line, as the command line words it: the store's and connectors' own messages, an unexpected one by its type.</summary>
    public static string OneLine(Exception e) => e switch
    {
        StoreException or ConnectorException or UiInputException or IOException or UnauthorizedAccessException => FirstLine(e.Message),
        Microsoft.AspNetCore.Antiforgery.AntiforgeryValidationException => "refused: this form did not come from a page of this coffer ui (its anti-forgery token is missing or wrong); reload the page and send it again",
        OperationCanceledException => "stopped: the server is shutting down",
        _ => $"internal error: {e.GetType().Name}: {FirstLine(e.Message)}",
    };

    private static string FirstLine(string message) => message.Split('\n', 2)[0].TrimEnd();
}
