using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;

namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>
/// Lists blobs page by page. A page that fails with a transient status (503 Server Busy and friends) even after
/// the SDK's own retries is asked for again from the same continuation token, so a long listing survives a
/// busy service without starting over.
/// </summary>
internal static class BlobListing
{
    private const int PageAttempts = 5;

    public static async IAsyncEnumerable<BlobItem> ListAsync(
        AzureConnection connection,
        string prefix,
        BlobTraits traits,
        TimeProvider time,
        ILogger logger,
        [EnumeratorCancellation] CancellationToken cancellationToken,
        ListRetry? retry = null)
    {
        string? continuation = null;
        do
        {
            var page = await NextPageAsync(connection, prefix, traits, continuation, time, logger, cancellationToken, retry: retry).ConfigureAwait(false);
            if (page is null)
            {
                yield break;
            }

            foreach (var item in page.Values)
            {
                yield return item;
            }

            continuation = page.ContinuationToken;
        }
        while (!string.IsNullOrEmpty(continuation));
    }

    /// <summary>Lists one blob to check that the container exists and the credentials are accepted.</summary>
    /// <exception cref="Coffer.Abstractions.ConnectorConfigurationException">The container does not exist.</exception>
    /// <exception cref="Coffer.Abstractions.ConnectorAuthenticationException">The credentials were refused.</exception>
    public static async Task ProbeAsync(AzureConnection connection, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await NextPageAsync(connection, connection.Location.Prefix, BlobTraits.None, null, time, logger, cancellationToken, pageSize: 1).ConfigureAwait(false);
        }
        catch (Coffer.Abstractions.NotFoundException e)
        {
            throw new Coffer.Abstractions.ConnectorConfigurationException(
                $"container '{connection.Location.Container}' does not exist in account {connection.AccountNameOrHost}: create it first", e);
        }
    }

    private static async Task<Page<BlobItem>?> NextPageAsync(
        AzureConnection connection,
        string prefix,
        BlobTraits traits,
        string? continuation,
        TimeProvider time,
        ILogger logger,
        CancellationToken cancellationToken,
        int pageSize = 5000,
        ListRetry? retry = null)
    {
        var delay = retry?.Delay ?? TimeSpan.FromMilliseconds(500);
        var attempts = retry?.Attempts ?? PageAttempts;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await AzureErrors.Translate(connection, "cannot list", async () =>
                {
                    var pages = connection.Container
                        .GetBlobsAsync(traits, BlobStates.None, prefix.Length == 0 ? null : prefix, cancellationToken)
                        .AsPages(continuation, pageSizeHint: pageSize);
                    await using var enumerator = pages.GetAsyncEnumerator(cancellationToken);
                    return await enumerator.MoveNextAsync().ConfigureAwait(false) ? enumerator.Current : null;
                }).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < attempts && e.InnerException is RequestFailedException r && AzureConnection.IsTransient(r.Status))
            {
                Log.ListRetry(logger, connection.Location.ToString(), r.Status, r.ErrorCode, delay);
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);

                // A configured retry waits the same each time, as keepstore's ListBlobsRetryDelay.
                delay = retry is null ? delay * 2 : delay;
            }
        }
    }
}

/// <summary>How often, and how far apart, a listing page that failed with a transient status is asked for again (keepstore's
/// <c>ListBlobsMaxAttempts</c> and <c>ListBlobsRetryDelay</c>).</summary>
/// <param name="Attempts">Tries of one page in all, at least 1.</param>
/// <param name="Delay">The wait between tries.</param>
internal sealed record ListRetry(int Attempts, TimeSpan Delay);
