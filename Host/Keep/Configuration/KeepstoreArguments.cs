namespace Coffer.Keep.Configuration;

/// <summary>
/// Chooses between <c>coffer keepstore</c>'s two dialects: today's keepstore, configured by an Arvados cluster
/// config file (<c>-config FILE</c>, else <c>ARVADOS_CONFIG</c> or <c>/etc/arvados/config.yml</c> when no volume
/// flag is given), and the seed's flags, parsed by <see cref="KeepstoreFlagParser"/> exactly as before.
/// </summary>
internal static class KeepstoreArguments
{
    /// <summary>Where Arvados services look for the cluster config by default.</summary>
    public const string DefaultConfigPath = "/etc/arvados/config.yml";

    private static readonly string[] VolumeFlags = ["volume", "volumes", "azure-storage-container-volume"];

    /// <summary>The head of <c>coffer keepstore -help</c>: both dialects, and how the config file is found without <c>-config</c>.</summary>
    public static IEnumerable<string> Usage() =>
    [
        "usage: coffer keepstore -config FILE [-listen ADDR]   (today's keepstore: an Arvados cluster config)",
        "       coffer keepstore [flags]                       (the seed's keepstore flags, listed below)",
        "",
        $"  -{"config FILE",-46} read the Arvados cluster config FILE (YAML: Clusters.ID.Volumes, Collections, SystemRootToken, ...)",
        $"  -{"listen ADDR",-46} with -config: which Services.Keepstore.InternalURLs entry this server is, and where it listens",
        "",
        "Without -config, ARVADOS_CONFIG names the config file; when it is unset and no volume flag",
        $"(-volume, -volumes, -azure-storage-container-volume) is given, {DefaultConfigPath} is read if it exists.",
        "Otherwise the flags below apply, in order: -readonly and the Azure account flags affect the volumes named after them.",
        "",
    ];

    /// <summary>Parses the arguments in whichever dialect they are in.</summary>
    /// <param name="args">The arguments after <c>keepstore</c>.</param>
    /// <param name="arvadosConfig">The <c>ARVADOS_CONFIG</c> environment variable, or null.</param>
    /// <param name="configExists">Tells whether a file exists (for the default config path).</param>
    /// <param name="warn">Receives warning lines.</param>
    /// <returns>The options.</returns>
    /// <exception cref="KeepConfigurationException">The flags or the config are wrong.</exception>
    public static KeepstoreOptions Parse(IReadOnlyList<string> args, string? arvadosConfig, Func<string, bool> configExists, Action<string> warn)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(configExists);
        if (args.Any(a => Split(a).Name is "h" or "help" or "?"))
        {
            // Help wins in either dialect: it is asked for before anything is read.
            return new KeepstoreOptions { HelpRequested = true };
        }

        string? config = null;
        string? listen = null;
        var others = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var (name, inline) = Split(args[i]);
            if (name is "config" or "listen")
            {
                var value = inline ?? (i + 1 < args.Count ? args[++i] : throw new KeepConfigurationException($"flag needs an argument: -{name}"));
                (name == "config" ? ref config : ref listen) = value;
            }
            else
            {
                others.Add(args[i]);
            }
        }

        if (config is null)
        {
            var namesVolumes = args.Any(a => Split(a).Name is { } n && VolumeFlags.Contains(n));
            config = namesVolumes ? null
                : !string.IsNullOrEmpty(arvadosConfig) ? arvadosConfig
                : configExists(DefaultConfigPath) ? DefaultConfigPath
                : null;
            if (config is null)
            {
                return KeepstoreFlagParser.Parse(args, warn);
            }
        }

        if (others.Count > 0)
        {
            throw new KeepConfigurationException($"{others[0]}: with a cluster config only -config FILE and -listen ADDR are taken; the rest comes from the file");
        }

        return ClusterConfigLoader.Load(config, listen, warn);
    }

    /// <summary>A Go-style flag's name (without dashes) and its <c>=value</c>; a null name for a non-flag.</summary>
    private static (string? Name, string? Value) Split(string arg)
    {
        if (arg.Length < 2 || arg[0] != '-')
        {
            return (null, null);
        }

        var body = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : arg[1..];
        var equals = body.IndexOf('=', StringComparison.Ordinal);
        return equals < 0 ? (body, null) : (body[..equals], body[(equals + 1)..]);
    }
}
