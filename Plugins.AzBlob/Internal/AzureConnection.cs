using System.Buffers.Text;
using System.Net;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Coffer.Abstractions;
using Microsoft.Extensions.Logging;

namespace Coffer.Plugins.AzBlob.Internal;

/// <summary>
/// The one place that declares the authentication options every azblob connector shares and turns them into a
/// <see cref="BlobContainerClient"/>. Secrets (connection string, account key, SAS token) never appear in a
/// message, a description or a device id.
/// </summary>
internal sealed class AzureConnection
{
    private const string ConnectionString = "connection_string";
    private const string AccountName = "account_name";
    private const string AccountKey = "account_key";
    private const string AccountKeyFile = "account_key_file";
    private const string Endpoint = "endpoint";
    private const string NoAuth = "no_auth";
    private const string SasToken = "sas_token";
    private const string Credential = "credential";
    private const string ClientId = "client_id";
    private const string ConnectionStringVariable = "AZURE_STORAGE_CONNECTION_STRING";

    private static readonly string[] CredentialKinds = ["default", "managed_identity", "environment", "workload_identity", "cli"];

    private AzureConnection(BlobContainerClient container, AzureLocation location, string authentication, bool anonymous)
    {
        Container = container;
        Location = location;
        Authentication = authentication;
        Anonymous = anonymous;
    }

    /// <summary>The options every azblob connector accepts.</summary>
    public static IReadOnlyList<ConnectorOption> Options { get; } =
    [
        new(ConnectionString, "Azure Storage connection string; takes precedence over account_name, account_key, account_key_file and endpoint", Secret: true),
        new(AccountName, "storage account name (with account_key, account_key_file, sas_token or credential)"),
        new(AccountKey, "storage account key (base64)", Secret: true),
        new(AccountKeyFile, "file holding the account key; one trailing newline is ignored, nothing else is allowed"),
        new(Endpoint, "blob endpoint, e.g. http://127.0.0.1:10000/devstoreaccount1 (Azurite) or a sovereign cloud's https://ACCOUNT.blob.core.chinacloudapi.cn; a bare suffix such as core.chinacloudapi.cn also works", DefaultValue: "https://ACCOUNT.blob.core.windows.net"),
        new(NoAuth, "anonymous access to a public container (needs endpoint); never for private data", DefaultValue: "false"),
        new(SasToken, "shared access signature (the query string, with or without the leading '?')", Secret: true),
        new(Credential, "Microsoft Entra ID credential through Azure.Identity: default, managed_identity, environment (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET …), workload_identity (AZURE_FEDERATED_TOKEN_FILE …) or cli"),
        new(ClientId, "client id of a user-assigned managed identity (with credential=default or managed_identity)"),
    ];

    /// <summary>The container the location names, with the credentials applied.</summary>
    public BlobContainerClient Container { get; }

    /// <summary>The container and prefix.</summary>
    public AzureLocation Location { get; }

    /// <summary>How the connector authenticates, without secrets (e.g. <c>account key</c>), for messages.</summary>
    public string Authentication { get; }

    /// <summary>True with <c>no_auth=true</c>: nothing can be written.</summary>
    public bool Anonymous { get; }

    /// <summary>The account name, as the endpoint or the options give it.</summary>
    public string AccountNameOrHost => Container.AccountName is { Length: > 0 } name ? name : Container.Uri.Host;

    /// <summary>
    /// <c>host[:port]/account/container</c>: the same for every process that reaches the same container,
    /// without scheme, query or credentials.
    /// </summary>
    public string BackendId
    {
        get
        {
            var uri = Container.Uri;
            var host = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
            return $"{host}/{AccountNameOrHost}/{Container.Name}";
        }
    }

    /// <summary>A description without secrets: the location, the endpoint host and the account.</summary>
    public string Describe(string what) =>
        $"{what} {Location} (account {AccountNameOrHost} at {Container.Uri.Scheme}://{Container.Uri.Authority}, {Authentication})";

    /// <summary>The connection a factory needs: the location (parsed from the configuration unless given) and the plugin's logger.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="location">The location, when the factory has adjusted it (the volume's prefix option).</param>
    /// <param name="requestTimeout">How long one try of a request may take (the volume's <c>request_timeout_ms</c>); null for the default.</param>
    /// <returns>The connection and the logger.</returns>
    /// <exception cref="ConnectorConfigurationException">The location or an option is unusable.</exception>
    public static (AzureConnection Connection, ILogger Logger) Open(ConnectorConfiguration configuration, AzureLocation? location = null, TimeSpan? requestTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var logger = configuration.Context.LoggerFactory.CreateLogger(Log.Category);
        return (Create(configuration, location ?? AzureLocation.Parse(configuration.Path), logger, requestTimeout), logger);
    }

    /// <summary>Reads the shared options and builds the container client.</summary>
    /// <param name="configuration">The location and options.</param>
    /// <param name="location">The parsed location (the volume may move the prefix into it).</param>
    /// <param name="logger">Where to warn about options that yield to the connection string.</param>
    /// <param name="requestTimeout">How long one try of a request may take; null for the default.</param>
    /// <returns>The connection.</returns>
    /// <exception cref="ConnectorConfigurationException">Options missing, contradictory or malformed; the message names the option.</exception>
    public static AzureConnection Create(ConnectorConfiguration configuration, AzureLocation location, ILogger logger, TimeSpan? requestTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = CreateClientOptions(requestTimeout);
        var connectionString = Value(configuration, ConnectionString);
        var accountName = Value(configuration, AccountName);
        var accountKey = Value(configuration, AccountKey);
        var accountKeyFile = Value(configuration, AccountKeyFile);
        var endpoint = Value(configuration, Endpoint);
        var noAuth = configuration.GetBoolean(NoAuth);
        var sasToken = Value(configuration, SasToken);
        var credential = Value(configuration, Credential);
        var clientId = Value(configuration, ClientId);

        if (clientId is not null && credential is not ("default" or "managed_identity"))
        {
            throw new ConnectorConfigurationException($"option '{ClientId}' needs credential=default or credential=managed_identity");
        }

        if (credential is not null && !CredentialKinds.Contains(credential))
        {
            throw new ConnectorConfigurationException($"option '{Credential}' must be one of {string.Join(", ", CredentialKinds)}, not '{credential}'");
        }

        var fromEnvironment = false;
        if (connectionString is null && accountKey is null && accountKeyFile is null && !noAuth && sasToken is null && credential is null
            && Environment.GetEnvironmentVariable(ConnectionStringVariable) is { } variable && !string.IsNullOrWhiteSpace(variable))
        {
            // No way of authenticating given: as the az CLI, the connection string in the environment.
            connectionString = variable.Trim();
            fromEnvironment = true;
        }

        var connectionStringSource = fromEnvironment ? $"the environment variable {ConnectionStringVariable}" : $"option '{ConnectionString}'";
        if (connectionString is not null)
        {
            // The connection string carries endpoint and credentials; account_name/key/endpoint yield to it.
            // Another way of authenticating at the same time is a contradiction.
            RefuseWith(ConnectionString, (NoAuth, noAuth), (SasToken, sasToken is not null), (Credential, credential is not null));
            var ignored = new[] { AccountName, AccountKey, AccountKeyFile, Endpoint }.Where(o => Value(configuration, o) is not null).ToList();
            if (ignored.Count > 0)
            {
                Log.IgnoredWithConnectionString(logger, string.Join(", ", ignored));
            }

            BlobServiceClient service;
            try
            {
                service = new BlobServiceClient(connectionString, options);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
            {
                // The SDK's message may quote the string: say what is wrong without it.
                throw new ConnectorConfigurationException(
                    $"{connectionStringSource} is not a valid Azure Storage connection string: expect DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…[;BlobEndpoint=…]");
            }

            return new AzureConnection(service.GetBlobContainerClient(location.Container), location, fromEnvironment ? "connection string from " + ConnectionStringVariable : "connection string", anonymous: false);
        }

        if (accountKey is not null && accountKeyFile is not null)
        {
            throw new ConnectorConfigurationException($"options '{AccountKey}' and '{AccountKeyFile}' contradict each other: give one of them");
        }

        var hasKey = accountKey is not null || accountKeyFile is not null;
        var ways = new List<string>();
        if (hasKey)
        {
            ways.Add(accountKey is not null ? AccountKey : AccountKeyFile);
        }

        if (noAuth)
        {
            ways.Add(NoAuth);
        }

        if (sasToken is not null)
        {
            ways.Add(SasToken);
        }

        if (credential is not null)
        {
            ways.Add(Credential);
        }

        if (ways.Count == 0)
        {
            throw new ConnectorConfigurationException(
                $"no credentials for {location}: give {ConnectionString} (or set {ConnectionStringVariable}), {AccountName} with {AccountKey} or {AccountKeyFile}, {SasToken}, {Credential}, or {NoAuth}=true with {Endpoint}");
        }

        if (ways.Count > 1)
        {
            throw new ConnectorConfigurationException($"options '{ways[0]}' and '{ways[1]}' contradict each other: give one way to authenticate");
        }

        if (noAuth && endpoint is null)
        {
            throw new ConnectorConfigurationException($"option '{NoAuth}' needs '{Endpoint}': the blob endpoint of the public container's account");
        }

        var serviceUri = ServiceUri(endpoint, accountName);
        var container = new BlobUriBuilder(serviceUri) { BlobContainerName = location.Container }.ToUri();
        if (hasKey)
        {
            var account = accountName ?? new BlobUriBuilder(serviceUri).AccountName;
            if (string.IsNullOrEmpty(account))
            {
                throw new ConnectorConfigurationException($"option '{AccountName}' is needed with {(accountKey is not null ? AccountKey : AccountKeyFile)}");
            }

            var key = accountKey is not null ? CheckKey(accountKey, $"option '{AccountKey}'") : ReadKeyFile(accountKeyFile!, logger);
            return new AzureConnection(new BlobContainerClient(container, new StorageSharedKeyCredential(account, key), options), location, "account key", anonymous: false);
        }

        if (sasToken is not null)
        {
            var sas = sasToken.TrimStart('?');
            if (sas.Length == 0 || !sas.Contains("sig=", StringComparison.Ordinal))
            {
                throw new ConnectorConfigurationException($"option '{SasToken}' is not a shared access signature: expect a query string with sv=…&sig=…");
            }

            return new AzureConnection(new BlobContainerClient(container, new AzureSasCredential(sas), options), location, "SAS token", anonymous: false);
        }

        if (credential is not null)
        {
            return new AzureConnection(new BlobContainerClient(container, TokenCredential(credential, clientId), options), location, $"credential={credential}", anonymous: false);
        }

        return new AzureConnection(new BlobContainerClient(container, options), location, "anonymous", anonymous: true);
    }

    /// <summary>Retries that survive a busy or briefly unreachable service without hiding a dead one.</summary>
    private static BlobClientOptions CreateClientOptions(TimeSpan? requestTimeout)
    {
        var options = new BlobClientOptions();
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 4;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(10);
        // Per try: a 64 MiB block or an 8 MiB put part on a slow link fits well inside this.
        options.Retry.NetworkTimeout = requestTimeout ?? TimeSpan.FromMinutes(2);
        options.Diagnostics.IsLoggingEnabled = false;
        options.Diagnostics.IsDistributedTracingEnabled = false;
        return options;
    }

    private static string? Value(ConnectorConfiguration configuration, string name)
    {
        var value = configuration.GetString(name);
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private static void RefuseWith(string option, params (string Name, bool Given)[] others)
    {
        foreach (var (name, given) in others)
        {
            if (given)
            {
                throw new ConnectorConfigurationException($"options '{option}' and '{name}' contradict each other: give one way to authenticate");
            }
        }
    }

    private static Uri ServiceUri(string? endpoint, string? accountName)
    {
        if (endpoint is null)
        {
            if (accountName is null)
            {
                throw new ConnectorConfigurationException($"option '{AccountName}' or '{Endpoint}' is needed to find the storage account");
            }

            CheckAccountName(accountName);
            return new Uri($"https://{accountName}.blob.core.windows.net");
        }

        if (!endpoint.Contains("://", StringComparison.Ordinal))
        {
            // A bare DNS suffix, as keepstore's StorageBaseURL: core.chinacloudapi.cn.
            if (accountName is null)
            {
                throw new ConnectorConfigurationException($"option '{AccountName}' is needed with the endpoint suffix '{endpoint}'");
            }

            CheckAccountName(accountName);
            if (!Uri.TryCreate($"https://{accountName}.blob.{endpoint}", UriKind.Absolute, out var suffixed))
            {
                throw new ConnectorConfigurationException($"option '{Endpoint}' '{endpoint}' is neither a URL nor a DNS suffix");
            }

            return suffixed;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new ConnectorConfigurationException($"option '{Endpoint}' must be an http:// or https:// URL");
        }

        if (uri.Query.Length > 0 || uri.UserInfo.Length > 0)
        {
            // Never echo it: the query may be a SAS.
            throw new ConnectorConfigurationException($"option '{Endpoint}' must not carry a query or user info: give a SAS with '{SasToken}'");
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length == 0 && accountName is not null && IsPathStyleHost(uri))
        {
            // Azurite and other emulators address the account in the path: http://127.0.0.1:10000/devstoreaccount1.
            CheckAccountName(accountName);
            return new Uri(uri, "/" + accountName);
        }

        if (path.Contains('/', StringComparison.Ordinal))
        {
            throw new ConnectorConfigurationException(
                $"option '{Endpoint}' must be the account's blob endpoint, not a container or blob: {uri.Scheme}://{uri.Authority}/{path.Split('/')[0]}");
        }

        return new Uri(uri.GetLeftPart(UriPartial.Authority) + (path.Length == 0 ? string.Empty : "/" + path));
    }

    private static bool IsPathStyleHost(Uri uri) =>
        uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || uri.IsLoopback || !uri.Host.Contains('.', StringComparison.Ordinal);

    private static void CheckAccountName(string accountName)
    {
        if (accountName.Length is < 3 or > 24 || !accountName.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)))
        {
            throw new ConnectorConfigurationException($"option '{AccountName}' '{accountName}' is not a storage account name: 3 to 24 lower-case letters and digits");
        }
    }

    private static string CheckKey(string key, string where)
    {
        if (!Base64.IsValid(key) || key.Length < 4)
        {
            throw new ConnectorConfigurationException($"{where} is not a base64 account key");
        }

        return key;
    }

    private static string ReadKeyFile(string path, ILogger logger)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
            const UnixFileMode groupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & groupOrOthers) != 0)
            {
                Log.KeyFileOpenToOthers(logger, path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConnectorConfigurationException($"option '{AccountKeyFile}': cannot read {path}: {e.Message}");
        }

        // As keepstore: a trailing newline is ignored, nothing else may be in the file.
        var key = text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;
        if (key.Length == 0)
        {
            throw new ConnectorConfigurationException($"option '{AccountKeyFile}': {path} is empty: put the account key in it");
        }

        if (key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new ConnectorConfigurationException($"option '{AccountKeyFile}': {path} must hold only the account key (one trailing newline is allowed)");
        }

        return CheckKey(key, $"option '{AccountKeyFile}': the content of {path}");
    }

    private static TokenCredential TokenCredential(string kind, string? clientId) => kind switch
    {
        "default" => new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId }),
        "managed_identity" => clientId is null
            ? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId)),
        "environment" => new EnvironmentCredential(TokenRetries(new EnvironmentCredentialOptions())),
        "workload_identity" => new WorkloadIdentityCredential(TokenRetries(new WorkloadIdentityCredentialOptions())),
        "cli" => new AzureCliCredential(),
        _ => throw new ConnectorConfigurationException($"option '{Credential}' must be one of {string.Join(", ", CredentialKinds)}, not '{kind}'"),
    };

    /// <summary>
    /// Two quick retries of a token request: a refused secret or an unreachable authority is reported in about a
    /// second instead of the SDK's default of several (the storage requests keep their own, longer retries).
    /// </summary>
    private static T TokenRetries<T>(T options)
        where T : TokenCredentialOptions
    {
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        return options;
    }

    /// <summary>The HTTP status codes the service uses for "try again later".</summary>
    public static bool IsTransient(int status) => status is (int)HttpStatusCode.ServiceUnavailable or (int)HttpStatusCode.InternalServerError or
        (int)HttpStatusCode.BadGateway or (int)HttpStatusCode.GatewayTimeout or (int)HttpStatusCode.RequestTimeout or 429;
}
