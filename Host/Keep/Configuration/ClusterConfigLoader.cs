using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Coffer.Keep.Configuration;

/// <summary>
/// Reads an Arvados cluster configuration file (<c>/etc/arvados/config.yml</c>, the structure of Arvados'
/// <c>lib/config/config.default.yml</c>) into the options the server runs with, as today's keepstore reads it:
/// the one cluster's <c>Volumes</c> this process serves (by <c>AccessViaHosts</c> and its
/// <c>Services.Keepstore.InternalURLs</c> entry), <c>Collections</c>' signing and trash settings,
/// <c>SystemRootToken</c>, <c>ManagementToken</c> and <c>API.MaxKeepBlobBuffers</c>.
/// </summary>
/// <remarks>
/// A key Arvados does not know, inside a section read here, is one warning line (Arvados' "deprecated or unknown
/// config entry"); keys Arvados knows but keepstore does not use are accepted silently; whole sections keepstore
/// does not read (<c>Containers</c>, <c>Login</c>, …) are not looked at. Anything wrong is one
/// <see cref="KeepConfigurationException"/> naming the key path, and nothing starts. Secrets (keys, tokens) are
/// never part of a message.
/// </remarks>
internal static partial class ClusterConfigLoader
{
    /// <summary>The cluster-level keys of Arvados' config.default.yml.</summary>
    private static readonly HashSet<string> ClusterKeys =
    [
        "SystemRootToken", "ManagementToken", "Services", "PostgreSQL", "API", "Users", "AuditLogs", "SystemLogs",
        "Collections", "Login", "TLS", "Containers", "InstanceTypes", "StorageClasses", "Volumes", "RemoteClusters",
        "Workbench",
    ];

    private static readonly HashSet<string> CollectionsKeys =
    [
        "BlobSigning", "BlobSigningKey", "BlobTrash", "BlobTrashLifetime", "BlobTrashCheckInterval", "BlobTrashConcurrency",
        "BlobDeleteConcurrency", "BlobReplicateConcurrency", "DefaultReplication", "BlobSigningTTL", "BlobMissingReport",
        "BalancePeriod", "BalanceCollectionBatch", "BalanceCollectionBuffers", "BalanceTimeout", "BalanceUpdateLimit",
        "BalancePullLimit", "BalanceTrashLimit", "DefaultTrashLifetime", "TrashSweepInterval", "CollectionVersioning",
        "PreserveVersionIfIdle", "ForwardSlashNameSubstitution", "ManagedProperties", "TrustAllContent", "WebDAVCache",
        "WebDAVPermission", "KeepproxyPermission", "WebDAVLogEvents", "WebDAVLogDownloadInterval", "WebDAVOutputBuffer",
    ];

    private static readonly HashSet<string> ApiKeys =
    [
        "MaxTokenLifetime", "MaxRequestSize", "MaxIndexDatabaseRead", "MaxItemsPerResponse", "MaxConcurrentRequests",
        "MaxConcurrentRailsRequests", "MaxQueuedRequests", "MaxQueueTimeForLockRequests", "MaxGatewayTunnels",
        "MaxKeepBlobBuffers", "DisabledAPIs", "AsyncPermissionsUpdateInterval", "MaxRequestAmplification", "RequestTimeout",
        "SendTimeout", "WebsocketClientEventQueue", "WebsocketServerEventQueue", "KeepServiceRequestTimeout", "VocabularyPath",
        "FreezeProjectRequiresDescription", "FreezeProjectRequiresProperties", "UnfreezeProjectRequiresAdmin", "LockBeforeUpdate",
    ];

    private static readonly HashSet<string> VolumeKeys =
        ["AccessViaHosts", "ReadOnly", "AllowTrashWhenReadOnly", "Replication", "StorageClasses", "Driver", "DriverParameters"];

    /// <summary>Arvados' Directory parameters, and coffer's <c>MinFree</c> (the posix volume's <c>min_free</c>).</summary>
    private static readonly HashSet<string> DirectoryParameters = ["Root", "Serialize", "MinFree"];

    private static readonly HashSet<string> AzureParameters =
    [
        "StorageAccountName", "StorageAccountKey", "StorageBaseURL", "ContainerName", "RequestTimeout",
        "ListBlobsRetryDelay", "ListBlobsMaxAttempts", "MaxGetBytes", "WriteRaceInterval", "WriteRacePollTime",
    ];

    /// <summary>Reads the config file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="listen">The <c>-listen</c> address given with <c>-config</c>, or null.</param>
    /// <param name="warn">Receives one line per unknown key.</param>
    /// <returns>The options, with <see cref="KeepstoreOptions.FromClusterConfig"/> set.</returns>
    /// <exception cref="KeepConfigurationException">The file is unreadable or something in it is wrong.</exception>
    public static KeepstoreOptions Load(string path, string? listen, Action<string> warn)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(warn);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeepConfigurationException($"-config {path}: cannot read it: {e.Message}", e);
        }

        return Parse(text, path, listen, warn);
    }

    /// <summary>Reads config text; see <see cref="Load"/>.</summary>
    internal static KeepstoreOptions Parse(string text, string source, string? listen, Action<string> warn)
    {
        var yaml = new YamlStream();
        try
        {
            yaml.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            // YamlDotNet's message quotes no value, only the position and what it expected.
            throw new KeepConfigurationException($"-config {source}: not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {OneLine(e.Message)}", e);
        }

        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new KeepConfigurationException($"-config {source}: expected a mapping with a Clusters section");
        }

        var reader = new Reader(warn);
        reader.CheckKeys(root, "", ["Clusters"]);
        var clusters = Reader.Mapping(Reader.Required(root, "Clusters", ""), "Clusters");
        if (clusters.Children.Count != 1)
        {
            throw new KeepConfigurationException($"Clusters: expected exactly one cluster, found {clusters.Children.Count}");
        }

        var (idNode, clusterNode) = clusters.Children.First();
        var id = ((YamlScalarNode)idNode).Value ?? "";
        var at = $"Clusters.{id}";
        var cluster = Reader.Mapping(clusterNode, at);
        reader.CheckKeys(cluster, at, ClusterKeys);

        var options = new KeepstoreOptions { FromClusterConfig = true };
        options.SystemRootToken = Reader.OptionalString(cluster, "SystemRootToken", at);
        options.ManagementToken = Reader.OptionalString(cluster, "ManagementToken", at);
        if (string.IsNullOrEmpty(options.SystemRootToken))
        {
            // Arvados' loader warns in these words and starts. Its router would then leave the admin endpoints open to
            // anyone (auth.RequireLiteralToken with ""); coffer keeps them closed instead (docs/keep-api.md).
            warn($"warning: {at}.SystemRootToken: secret token is not set (use 32+ random characters from a-z, A-Z, 0-9); the admin endpoints refuse every request");
        }

        var (thisUrl, listenAddress) = ThisService(reader, cluster, at, listen);
        options.Listen = listenAddress;

        if (Reader.OptionalMapping(cluster, "API", at) is { } api)
        {
            reader.CheckKeys(api, $"{at}.API", ApiKeys);
            options.MaxBuffers = Reader.OptionalInt(api, "MaxKeepBlobBuffers", $"{at}.API", min: 1) ?? KeepstoreOptions.DefaultMaxBuffers;
        }

        ReadCollections(reader, cluster, at, options);

        // The cluster's storage classes: a volume's priority is the highest of its classes' (keepstore's mount priority).
        var priorities = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (classNode, classEntry) in Entries(Reader.OptionalMapping(cluster, "StorageClasses", at)))
        {
            var name = ((YamlScalarNode)classNode).Value ?? "";
            var classPath = $"{at}.StorageClasses.{name}";
            var entry = Reader.Mapping(classEntry, classPath);
            reader.CheckKeys(entry, classPath, ["Priority", "Default", "Description"]);
            Reader.OptionalBool(entry, "Default", classPath);
            priorities[name] = Reader.OptionalInt(entry, "Priority", classPath, min: int.MinValue) ?? 0;
        }

        var volumes = Reader.OptionalMapping(cluster, "Volumes", at);
        foreach (var (uuidNode, volumeNode) in Entries(volumes))
        {
            var uuid = ((YamlScalarNode)uuidNode).Value ?? "";
            if (ReadVolume(reader, volumeNode, $"{at}.Volumes.{uuid}", uuid, thisUrl) is { } spec)
            {
                var priority = (spec.StorageClasses ?? []).Select(c => priorities.GetValueOrDefault(c)).DefaultIfEmpty(0).Max();
                options.Volumes.Add(spec with { Priority = Math.Max(0, priority) });
            }
        }

        if (options.Volumes.Count == 0)
        {
            throw new KeepConfigurationException(thisUrl is null
                ? $"{at}.Volumes: no volume to serve"
                : $"{at}.Volumes: no volume is served by {thisUrl} (each names the servers that reach it in AccessViaHosts, or none for all)");
        }

        return options;
    }

    /// <summary>
    /// This process's <c>Services.Keepstore.InternalURLs</c> entry and the address to listen on. With
    /// <c>-listen</c>, the entry whose host and port (or <c>ListenURL</c>'s) it names; without, the only entry.
    /// </summary>
    private static (string? Url, string Listen) ThisService(Reader reader, YamlMappingNode cluster, string at, string? listen)
    {
        var urls = new List<(string Url, string HostPort, string ListenHostPort)>();
        var keepstore = Reader.OptionalMapping(cluster, "Services", at) is { } services
            ? Reader.OptionalMapping(services, "Keepstore", $"{at}.Services")
            : null;
        if (keepstore is not null)
        {
            reader.CheckKeys(keepstore, $"{at}.Services.Keepstore", ["InternalURLs", "ExternalURL"]);
            foreach (var (urlNode, entryNode) in Entries(Reader.OptionalMapping(keepstore, "InternalURLs", $"{at}.Services.Keepstore")))
            {
                var url = ((YamlScalarNode)urlNode).Value ?? "";
                var path = $"{at}.Services.Keepstore.InternalURLs.{url}";
                var hostPort = HostPort(url, path);
                var listenHostPort = hostPort;
                if (entryNode is YamlMappingNode entry)
                {
                    reader.CheckKeys(entry, path, ["ListenURL", "Rendezvous"]);
                    if (Reader.OptionalString(entry, "ListenURL", path) is { Length: > 0 } listenUrl)
                    {
                        listenHostPort = HostPort(listenUrl, $"{path}.ListenURL");
                    }
                }

                urls.Add((NormalizeUrl(url), hostPort, listenHostPort));
            }
        }

        if (listen is not null)
        {
            var match = urls.FirstOrDefault(u => SameAddress(u.ListenHostPort, listen) || SameAddress(u.HostPort, listen));
            if (match.Url is null && urls.Count > 0)
            {
                throw new KeepConfigurationException($"-listen {listen}: not one of {at}.Services.Keepstore.InternalURLs ({string.Join(", ", urls.Select(u => u.Url))})");
            }

            return (match.Url, listen);
        }

        return urls.Count switch
        {
            1 => (urls[0].Url, urls[0].ListenHostPort),
            0 => throw new KeepConfigurationException($"{at}.Services.Keepstore.InternalURLs: empty: name this server's URL there, or give -listen"),
            _ => throw new KeepConfigurationException($"{at}.Services.Keepstore.InternalURLs: {urls.Count} servers: give -listen HOST:PORT to say which one this is"),
        };
    }

    private static void ReadCollections(Reader reader, YamlMappingNode cluster, string at, KeepstoreOptions options)
    {
        var path = $"{at}.Collections";
        var collections = Reader.OptionalMapping(cluster, "Collections", at);
        var enforce = true;
        if (collections is not null)
        {
            reader.CheckKeys(collections, path, CollectionsKeys);
            options.BlobSigningKey = Reader.OptionalString(collections, "BlobSigningKey", path);
            options.BlobSignatureTtl = Reader.OptionalDuration(collections, "BlobSigningTTL", path) ?? options.BlobSignatureTtl;
            enforce = Reader.OptionalBool(collections, "BlobSigning", path) ?? true;
            options.NeverDelete = !(Reader.OptionalBool(collections, "BlobTrash", path) ?? true);
            options.TrashLifetime = Reader.OptionalDuration(collections, "BlobTrashLifetime", path) ?? TimeSpan.FromDays(14);
            options.TrashCheckInterval = Reader.OptionalDuration(collections, "BlobTrashCheckInterval", path) ?? options.TrashCheckInterval;

            // Read and checked as Arvados does; coffer runs one trash and one pull worker whatever they say.
            Reader.OptionalInt(collections, "BlobDeleteConcurrency", path, min: 0);
            Reader.OptionalInt(collections, "BlobReplicateConcurrency", path, min: 0);
        }
        else
        {
            // Arvados' defaults: trash on, kept two weeks.
            options.NeverDelete = false;
            options.TrashLifetime = TimeSpan.FromDays(14);
        }

        if (options.BlobSignatureTtl <= TimeSpan.Zero)
        {
            throw new KeepConfigurationException($"{path}.BlobSigningTTL: must be more than zero");
        }

        if (enforce && string.IsNullOrEmpty(options.BlobSigningKey))
        {
            throw new KeepConfigurationException($"{path}.BlobSigningKey: empty while {path}.BlobSigning is true: set the cluster's signing key, or BlobSigning: false");
        }

        options.EnforcePermissions = enforce;
    }

    private static KeepVolumeSpec? ReadVolume(Reader reader, YamlNode node, string path, string uuid, string? thisUrl)
    {
        var volume = Reader.Mapping(node, path);
        reader.CheckKeys(volume, path, VolumeKeys);
        var readOnly = Reader.OptionalBool(volume, "ReadOnly", path) ?? false;
        var replication = Reader.OptionalInt(volume, "Replication", path, min: 1) ?? 1;

        // Served when AccessViaHosts is empty or names this server; an entry's ReadOnly makes it read-only here.
        if (Reader.OptionalMapping(volume, "AccessViaHosts", path) is { Children.Count: > 0 } hosts)
        {
            YamlMappingNode? mine = null;
            foreach (var (hostNode, entryNode) in hosts.Children)
            {
                var url = ((YamlScalarNode)hostNode).Value ?? "";
                var entryPath = $"{path}.AccessViaHosts.{url}";
                HostPort(url, entryPath);
                var entry = entryNode is YamlScalarNode { Value: null or "" } ? new YamlMappingNode() : Reader.Mapping(entryNode, entryPath);
                reader.CheckKeys(entry, entryPath, ["ReadOnly"]);
                if (thisUrl is not null && NormalizeUrl(url) == thisUrl)
                {
                    mine = entry;
                    readOnly |= Reader.OptionalBool(entry, "ReadOnly", entryPath) ?? false;
                }
                else
                {
                    Reader.OptionalBool(entry, "ReadOnly", entryPath);
                }
            }

            if (mine is null)
            {
                return null;
            }
        }

        var classes = new List<string>();
        if (Reader.OptionalMapping(volume, "StorageClasses", path) is { } classMap)
        {
            foreach (var (classNode, inNode) in classMap.Children)
            {
                var name = ((YamlScalarNode)classNode).Value ?? "";
                if (Reader.Bool(inNode, $"{path}.StorageClasses.{name}"))
                {
                    classes.Add(name);
                }
            }
        }

        var driver = Reader.OptionalString(volume, "Driver", path)
            ?? throw new KeepConfigurationException($"{path}.Driver: missing: Directory, Azure, or the driver of an installed package");
        var parameters = Reader.OptionalMapping(volume, "DriverParameters", path) ?? new YamlMappingNode();
        var parametersPath = $"{path}.DriverParameters";
        var flag = $"{path} (Driver: {driver})";
        return driver switch
        {
            "Directory" => DirectoryVolume(reader, parameters, parametersPath, flag, uuid, readOnly, classes, replication),
            "Azure" => AzureVolume(reader, parameters, parametersPath, flag, uuid, readOnly, classes, replication),
            _ => OtherVolume(reader, parameters, parametersPath, flag, driver, uuid, readOnly, classes, replication),
        };
    }

    private static KeepVolumeSpec DirectoryVolume(Reader reader, YamlMappingNode parameters, string path, string flag, string uuid, bool readOnly, List<string> classes, int replication)
    {
        reader.CheckKeys(parameters, path, DirectoryParameters);
        var root = Reader.OptionalString(parameters, "Root", path);
        if (string.IsNullOrEmpty(root) || !Path.IsPathRooted(root))
        {
            throw new KeepConfigurationException($"{path}.Root: give the volume's directory as an absolute path");
        }

        var serialize = Reader.OptionalBool(parameters, "Serialize", path) ?? false;
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Reader.OptionalString(parameters, "MinFree", path) is { } minFree)
        {
            options["min_free"] = ByteSize(minFree, $"{path}.MinFree").ToString(CultureInfo.InvariantCulture);
        }

        return new KeepVolumeSpec(flag, root, options, readOnly, serialize, uuid, classes, replication);
    }

    private static KeepVolumeSpec AzureVolume(Reader reader, YamlMappingNode parameters, string path, string flag, string uuid, bool readOnly, List<string> classes, int replication)
    {
        reader.CheckKeys(parameters, path, AzureParameters);
        string Required(string key) => Reader.OptionalString(parameters, key, path) is { Length: > 0 } value
            ? value
            : throw new KeepConfigurationException($"{path}.{key}: missing");

        var container = Required("ContainerName");
        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [AzureVolumeOptions.AccountName] = Required("StorageAccountName"),
            ["account_key"] = Required("StorageAccountKey"),
            [AzureVolumeOptions.Replication] = replication.ToString(CultureInfo.InvariantCulture),
        };
        if (Reader.OptionalString(parameters, "StorageBaseURL", path) is { Length: > 0 } baseUrl && baseUrl != "core.windows.net")
        {
            options[AzureVolumeOptions.Endpoint] = baseUrl;
        }

        // keepstore's Azure driver parameters become the azblob volume's options; zero (or absent) keeps the default, as in
        // keepstore. MaxGetBytes is checked only: a block is always fetched whole.
        void Milliseconds(string key, string option)
        {
            if (Reader.OptionalDuration(parameters, key, path) is { } duration && duration > TimeSpan.Zero)
            {
                options[option] = Math.Max(1, (long)Math.Ceiling(duration.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);
            }
        }

        Milliseconds("RequestTimeout", AzureVolumeOptions.RequestTimeout);
        Milliseconds("ListBlobsRetryDelay", AzureVolumeOptions.ListRetryDelay);
        Milliseconds("WriteRaceInterval", AzureVolumeOptions.WriteRaceInterval);
        Milliseconds("WriteRacePollTime", AzureVolumeOptions.WriteRacePoll);
        if (Reader.OptionalInt(parameters, "ListBlobsMaxAttempts", path, min: 0) is { } attempts and > 0)
        {
            options[AzureVolumeOptions.ListAttempts] = attempts.ToString(CultureInfo.InvariantCulture);
        }

        Reader.OptionalInt(parameters, "MaxGetBytes", path, min: 0);
        return new KeepVolumeSpec(flag, $"{AzureVolumeOptions.Scheme}://{container}", options, readOnly, Serialize: false, uuid, classes, replication);
    }

    /// <summary>
    /// A driver coffer does not know itself: the volume connector of the scheme named like the driver (lower case),
    /// from whichever installed package provides it, with the driver parameters as options in snake case.
    /// </summary>
    private static KeepVolumeSpec OtherVolume(Reader reader, YamlMappingNode parameters, string path, string flag, string driver, string uuid, bool readOnly, List<string> classes, int replication)
    {
        var scheme = driver.ToLowerInvariant();
        if (!SchemeName().IsMatch(scheme))
        {
            throw new KeepConfigurationException($"{flag[..flag.IndexOf(' ', StringComparison.Ordinal)]}.Driver: '{driver}' is not a driver name");
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in parameters.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? "";
            options[SnakeCase().Replace(key, "$1_$2").ToLowerInvariant()] = Reader.Scalar(valueNode, $"{path}.{key}");
        }

        return new KeepVolumeSpec(flag, $"{scheme}://{uuid}", options, readOnly, Serialize: false, uuid, classes, replication);
    }

    /// <summary>A size as Arvados' ByteSize writes it: bytes, or a number with KB, KiB, MB, MiB, GB, GiB, TB or TiB.</summary>
    private static long ByteSize(string text, string path)
    {
        var match = ByteSizeText().Match(text.Trim());
        if (!match.Success || !long.TryParse(match.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            throw new KeepConfigurationException($"{path}: expected a size such as 67108864, 64MiB or 1GB");
        }

        var unit = match.Groups["unit"].Value.ToUpperInvariant() switch
        {
            "" or "B" => 1L,
            "KB" => 1000L,
            "KIB" => 1L << 10,
            "MB" => 1000L * 1000,
            "MIB" => 1L << 20,
            "GB" => 1000L * 1000 * 1000,
            "GIB" => 1L << 30,
            "TB" => 1000L * 1000 * 1000 * 1000,
            _ => 1L << 40,
        };
        return number <= long.MaxValue / unit ? number * unit : throw new KeepConfigurationException($"{path}: too large");
    }

    [GeneratedRegex(@"^(?<n>\d+)\s*(?<unit>|B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex ByteSizeText();

    private static string HostPort(string url, string path)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            throw new KeepConfigurationException($"{path}: not an http or https URL");
        }

        return uri.HostNameType == UriHostNameType.IPv6 ? $"[{uri.IdnHost}]:{uri.Port}" : $"{uri.IdnHost}:{uri.Port}";
    }

    private static string NormalizeUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority}" : url;

    private static bool SameAddress(string hostPort, string listen) =>
        string.Equals(hostPort, listen, StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<KeyValuePair<YamlNode, YamlNode>> Entries(YamlMappingNode? mapping) =>
        mapping is null ? [] : mapping.Children;

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    [GeneratedRegex("^[a-z][a-z0-9+.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemeName();

    [GeneratedRegex("([a-z0-9])([A-Z])", RegexOptions.CultureInvariant)]
    private static partial Regex SnakeCase();

    /// <summary>Typed reads of YAML nodes that name the key path in every error, and warn about unknown keys.</summary>
    private sealed class Reader
    {
        private readonly Action<string> _warn;

        public Reader(Action<string> warn) => _warn = warn;

        public void CheckKeys(YamlMappingNode mapping, string path, HashSet<string> known)
        {
            foreach (var key in mapping.Children.Keys)
            {
                var name = (key as YamlScalarNode)?.Value ?? "";
                if (!known.Contains(name))
                {
                    _warn($"warning: deprecated or unknown config entry: {Join(path, name)}");
                }
            }
        }

        public static YamlNode Required(YamlMappingNode mapping, string key, string path) =>
            Find(mapping, key) ?? throw new KeepConfigurationException($"{Join(path, key)}: missing");

        public static YamlMappingNode Mapping(YamlNode node, string path) =>
            node as YamlMappingNode ?? throw new KeepConfigurationException($"{path}: expected a mapping of keys to values");

        public static YamlMappingNode? OptionalMapping(YamlMappingNode mapping, string key, string path) =>
            Find(mapping, key) switch
            {
                null or YamlScalarNode { Value: null or "" } => null,
                var node => Mapping(node, Join(path, key)),
            };

        public static string Scalar(YamlNode node, string path) =>
            node is YamlScalarNode scalar ? scalar.Value ?? "" : throw new KeepConfigurationException($"{path}: expected a single value");

        public static string? OptionalString(YamlMappingNode mapping, string key, string path) =>
            Find(mapping, key) is { } node ? Scalar(node, Join(path, key)) : null;

        public static bool Bool(YamlNode node, string path) =>
            Scalar(node, path).ToLowerInvariant() switch
            {
                "true" or "yes" or "on" => true,
                "false" or "no" or "off" or "" => false,
                _ => throw new KeepConfigurationException($"{path}: expected true or false"),
            };

        public static bool? OptionalBool(YamlMappingNode mapping, string key, string path) =>
            Find(mapping, key) is { } node ? Bool(node, Join(path, key)) : null;

        public static int? OptionalInt(YamlMappingNode mapping, string key, string path, int min)
        {
            if (Find(mapping, key) is not { } node)
            {
                return null;
            }

            var text = Scalar(node, Join(path, key));
            return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min
                ? value
                : throw new KeepConfigurationException($"{Join(path, key)}: expected a whole number of at least {min}");
        }

        public static TimeSpan? OptionalDuration(YamlMappingNode mapping, string key, string path)
        {
            if (Find(mapping, key) is not { } node)
            {
                return null;
            }

            var text = Scalar(node, Join(path, key));
            return GoDuration.TryParse(text, out var value) && value >= TimeSpan.Zero
                ? value
                : throw new KeepConfigurationException($"{Join(path, key)}: expected a duration such as 336h, 10s or 1h30m");
        }

        private static YamlNode? Find(YamlMappingNode mapping, string key) =>
            mapping.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

        private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
    }
}
