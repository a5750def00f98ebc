using Microsoft.AspNetCore.Http;

namespace Coffer.Ui.Pages;

/// <summary><c>/jobs/ID</c>: a restore's or a check's progress, refreshed every second (no script needed), then its outcome.</summary>
internal static class JobPage
{
    public static string Url(UiJob job) => $"/jobs/{job.Id}";

    public static Task ShowAsync(UiState state, HttpContext context)
    {
        var id = context.Request.RouteValues["id"]?.ToString() ?? "";
        var job = state.Jobs.Find(id);
        if (job is null)
        {
            throw new UiInputException("no such job: it belongs to an earlier run of coffer ui, or the address is mistyped");
        }

        if (!job.IsDone)
        {
            return Page.WriteAsync(context, job.Title, Html.Of($"<p id=\"job-running\">Running: {job.Progress}</p>"), head: new Html("<meta http-equiv=\"refresh\" content=\"1\">"));
        }

        var outcome = job.Failed
            ? Html.Of($"<p class=\"error\" id=\"job-failed\">{job.Outcome}</p>")
            : Html.Of($"<p class=\"ok\" id=\"job-done\">{job.Outcome}</p>");
        return Page.WriteAsync(context, job.Title, outcome);
    }
}
