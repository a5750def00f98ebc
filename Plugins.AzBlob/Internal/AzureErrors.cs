using Azure;
using Azure.Identity;
using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;

namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>Turns what the Azure SDK throws into the contracts' one-line exceptions, without secrets.</summary>
internal static class AzureErrors
{
    /// <summary>True when the service says the blob (or its container) is not there.</summary>
    public static bool IsNotFound(RequestFailedException e) => e.Status == 404;

    /// <summary>True when a condition (If-Match, If-None-Match) did not hold.</summary>
    public static bool IsConditionFailed(RequestFailedException e) =>
        e.Status == 412 || (e.Status == 409 && e.ErrorCode == BlobErrorCode.BlobAlreadyExists);

    /// <summary>
    /// Runs an Azure call and translates its failures: refused credentials become
    /// <see cref="ConnectorAuthenticationException"/>, an unreachable endpoint or other refusal a
    /// <see cref="ConnectorException"/>; each names the operation and the target, never a secret.
    /// </summary>
    public static async Task<T> Translate<T>(AzureConnection connection, string operation, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (Convert(connection, operation, e) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>As <see cref="Translate{T}"/> for calls without a result.</summary>
    public static async Task Translate(AzureConnection connection, string operation, Func<Task> call)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (Exception e) when (Convert(connection, operation, e) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>The contracts' exception for <paramref name="e"/>, or null to let it through unchanged.</summary>
    public static ConnectorException? Convert(AzureConnection connection, string operation, Exception e)
    {
        var target = $"{connection.Location} (account {connection.AccountNameOrHost})";
        switch (e)
        {
            case ConnectorException:
            case OperationCanceledException:
                return null;
            case AuthenticationFailedException or CredentialUnavailableException:
                return new ConnectorAuthenticationException(
                    $"{operation} {target}: {connection.Authentication} could not get a token: {FirstLine(e.Message)}", e);
            case RequestFailedException { Status: 401 } or RequestFailedException { ErrorCode: "NoAuthenticationInformation" }:
                return new ConnectorAuthenticationException(
                    $"{operation} {target}: Azure wants credentials ({connection.Authentication} is not enough): the container is not public", e);
            case RequestFailedException { Status: 403 } r:
                // AuthenticationFailed on Azure, AuthorizationFailure on Azurite, for a wrong key alike.
                return new ConnectorAuthenticationException(
                    $"{operation} {target}: Azure refused the {connection.Authentication} (403 {r.ErrorCode}): check the key, connection string or SAS, its permissions and the account name", e);
            case RequestFailedException { Status: 404, ErrorCode: "ContainerNotFound" }:
                return new NotFoundException($"{operation} {target}: container '{connection.Location.Container}' does not exist", e);
            case RequestFailedException { Status: 0 } r:
                return new ConnectorException(
                    $"{operation} {target}: cannot reach {connection.Container.Uri.Scheme}://{connection.Container.Uri.Authority}: {FirstLine(r.InnerException?.Message ?? r.Message)}", e);
            case RequestFailedException r:
                return new ConnectorException($"{operation} {target}: Azure answered {r.Status} {r.ErrorCode}", e);
            case System.Net.Http.HttpRequestException h:
                return new ConnectorException(
                    $"{operation} {target}: cannot reach {connection.Container.Uri.Scheme}://{connection.Container.Uri.Authority}: {FirstLine(h.Message)}", e);
            case System.Net.Http.HttpIOException h:
                // The SDK's retries could not get the rest of a body (the connection kept breaking mid-response).
                return new ConnectorException($"{operation} {target}: the connection broke mid-response: {FirstLine(h.Message)}", e);
            case System.Xml.XmlException x:
                // An answer cut short or garbled on the way (a listing, an error body) that the SDK could not parse.
                return new ConnectorException($"{operation} {target}: Azure's answer could not be read: {FirstLine(x.Message)}", e);
            case AggregateException { InnerExceptions.Count: > 0 } a:
                return Convert(connection, operation, a.InnerExceptions[0]);
            default:
                return null;
        }
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].TrimEnd();
}
