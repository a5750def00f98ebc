using System.Globalization;
using Coffer.Abstractions;

namespace Coffer.Keep;

/// <summary>
/// Parses keepstore's command line the way Go's <c>flag</c> package does, in order: <c>-name</c>,
/// <c>--name</c>, <c>-name=value</c>, <c>-name value</c> (boolean flags take a value only after <c>=</c>).
/// Order matters: <c>-readonly</c>, <c>-serialize</c> and the Azure account flags apply to the volumes
/// named after them, as keepstore's operators write their run scripts.
/// </summary>
internal static class KeepstoreFlagParser
{
    private static readonly Flag[] Flags =
    [
        Value("volume", "DIR", "serve the directory DIR as a volume; repeatable", (s, v) => s.AddDirectory("volume", v)),
        Value("volumes", "DIR,DIR", "serve each comma-separated directory as a volume", (s, v) =>
        {
            foreach (var directory in v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                s.AddDirectory("volumes", directory);
            }
        }),
        Bool("readonly", "do not write, touch or trash anything on the volumes named after this flag; -readonly=false ends it", (s, v) => s.ReadOnly = v),
        Bool("serialize", "do one I/O at a time on the volumes named after this flag; -serialize=false ends it", (s, v) => s.Serialize = v),
        Value("azure-storage-account-name", "NAME", "the storage account of the container volumes named after this flag", (s, v) => s.AccountName = v),
        Value("azure-storage-account-key-file", "FILE", "the file holding that account's key (a trailing newline is ignored)", (s, v) => s.SetAccountKeyFile(v)),
        Value("azure-storage-endpoint", "URL", "the blob endpoint of the container volumes named after this flag (Azurite, sovereign clouds)", (s, v) => s.Endpoint = v),
        Value("azure-storage-replication", "N", "the replication to report for the container volumes named after this flag (default 3)", (s, v) => s.Replication = ParseInt("azure-storage-replication", v, minimum: 1)),
        Value("azure-storage-container-volume", "NAME", "serve the Azure container NAME as a volume, with the account given before it; repeatable", (s, v) => s.AddContainer(v)),
        Value("listen", "ADDR", $"listen on ADDR, host:port or :port (default {KeepstoreOptions.DefaultListen})", (s, v) => s.Options.Listen = v),
        Value("permission-key-file", "FILE", "sign and verify locators with the key in FILE", (s, v) => s.Options.PermissionKeyFile = v),
        Value("blob-signing-key-file", "FILE", "same as -permission-key-file", (s, v) => s.Options.PermissionKeyFile = v),
        Bool("enforce-permissions", "refuse GET and HEAD without a valid signature", (s, v) => s.Options.EnforcePermissions = v),
        Value("blob-signature-ttl", "DURATION", "how long signatures are valid, e.g. 336h or seconds (default two weeks)", (s, v) => s.Options.BlobSignatureTtl = ParseDuration("blob-signature-ttl", v)),
        Value("permission-ttl", "DURATION", "same as -blob-signature-ttl", (s, v) => s.Options.BlobSignatureTtl = ParseDuration("permission-ttl", v)),
        Value("data-manager-token-file", "FILE", "the token DELETE, /index, /pull, /trash and /untrash require", (s, v) => s.Options.DataManagerTokenFile = v),
        Bool("never-delete", "refuse DELETE and never trash a block (default true)", (s, v) => s.Options.NeverDelete = v),
        Value("trash-lifetime", "DURATION", "how long a trashed block can be untrashed (default 0: delete at once)", (s, v) => s.Options.TrashLifetime = ParseDuration("trash-lifetime", v)),
        Value("trash-check-interval", "DURATION", "how often expired trash is emptied (default 24h)", (s, v) => s.Options.TrashCheckInterval = ParseDuration("trash-check-interval", v, positive: true)),
        Value("max-buffers", "N", $"at most N block buffers of up to 64 MiB in memory (default {KeepstoreOptions.DefaultMaxBuffers})", (s, v) => s.Options.MaxBuffers = ParseInt("max-buffers", v, minimum: 1)),
        Value("max-requests", "N", "answer 503 beyond N requests in flight (default 2 x max-buffers)", (s, v) => s.Options.MaxRequests = ParseInt("max-requests", v, minimum: 0)),
        Value("pid", "FILE", "write the process id to FILE while running", (s, v) => s.Options.PidFile = v),
    ];

    /// <summary>One line per flag, for <c>coffer keepstore -help</c>.</summary>
    public static IEnumerable<string> Usage() =>
        Flags.Select(f => $"  -{(f.IsBool ? f.Name : f.Name + " " + f.Metavar),-46} {f.Help}");

    /// <summary>Parses the arguments that follow <c>coffer keepstore</c>.</summary>
    /// <param name="args">The arguments, in order.</param>
    /// <param name="warn">Receives warnings, one line each (never a secret).</param>
    /// <returns>The options.</returns>
    /// <exception cref="KeepConfigurationException">A flag is unknown, malformed, missing its value, or out of order.</exception>
    public static KeepstoreOptions Parse(IReadOnlyList<string> args, Action<string> warn)
    {
        ArgumentNullException.ThrowIfNull(args);
        var state = new ParseState(warn);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                if (i + 1 < args.Count)
                {
                    throw new KeepConfigurationException($"keepstore takes only flags, not '{args[i + 1]}' (see 'coffer keepstore -help')");
                }

                break;
            }

            if (arg.Length < 2 || arg[0] != '-')
            {
                throw new KeepConfigurationException($"keepstore takes only flags, not '{arg}': flags start with '-' (see 'coffer keepstore -help')");
            }

            var body = arg[1] == '-' ? arg[2..] : arg[1..];
            if (body.Length == 0 || body[0] is '-' or '=')
            {
                throw new KeepConfigurationException($"bad flag syntax '{arg}' (see 'coffer keepstore -help')");
            }

            var equals = body.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? body : body[..equals];
            var inlineValue = equals < 0 ? null : body[(equals + 1)..];

            if (name is "h" or "help" or "?")
            {
                state.Options.HelpRequested = true;
                return state.Options;
            }

            var flag = Array.Find(Flags, f => f.Name == name)
                ?? throw new KeepConfigurationException($"unknown flag -{name} (see 'coffer keepstore -help')");

            string value;
            if (flag.IsBool)
            {
                value = inlineValue ?? "true";
            }
            else if (inlineValue is not null)
            {
                value = inlineValue;
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new KeepConfigurationException($"flag -{name} needs a value: -{name} {flag.Metavar}");
            }

            flag.Apply(state, value);
        }

        if (state.Options.Volumes.Count == 0)
        {
            throw new KeepConfigurationException("no volumes: name at least one with -volume DIR or -azure-storage-container-volume NAME");
        }

        if (state.Options.EnforcePermissions && state.Options.PermissionKeyFile is null)
        {
            throw new KeepConfigurationException("-enforce-permissions needs a key to check signatures with: add -permission-key-file FILE");
        }

        return state.Options;
    }

    private static Flag Bool(string name, string help, Action<ParseState, bool> apply) =>
        new(name, IsBool: true, "", help, (s, v) => apply(s, ParseBool(name, v)));

    private static Flag Value(string name, string metavar, string help, Action<ParseState, string> apply) =>
        new(name, IsBool: false, metavar, help, apply);

    // Go's strconv.ParseBool, which the flag package uses.
    private static bool ParseBool(string flag, string value) => value switch
    {
        "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
        "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
        _ => throw new KeepConfigurationException($"-{flag} takes true or false, not '{value}': write -{flag}=false"),
    };

    private static int ParseInt(string flag, string value, int minimum)
    {
        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) || parsed < minimum)
        {
            throw new KeepConfigurationException($"-{flag} takes a whole number of at least {minimum}, not '{value}'");
        }

        return parsed;
    }

    private static TimeSpan ParseDuration(string flag, string value, bool positive = false)
    {
        if (!GoDuration.TryParse(value, out var duration) || duration < TimeSpan.Zero || (positive && duration == TimeSpan.Zero))
        {
            throw new KeepConfigurationException($"-{flag} takes a {(positive ? "positive " : "")}duration such as 336h, 90m or 30s (or a number of seconds), not '{value}'");
        }

        return duration;
    }

    private sealed record Flag(string Name, bool IsBool, string Metavar, string Help, Action<ParseState, string> Apply);

    /// <summary>The positional settings in force at the current point of the command line.</summary>
    private sealed class ParseState(Action<string> warn)
    {
        private string? _accountKeyFile;

        public KeepstoreOptions Options { get; } = new();

        public bool ReadOnly { get; set; }

        public bool Serialize { get; set; }

        public string? AccountName { get; set; }

        public string? Endpoint { get; set; }

        public int Replication { get; set; } = AzureVolumeOptions.DefaultReplication;

        public void SetAccountKeyFile(string path)
        {
            // Checked now, so a bad key file is reported against the flag that named it.
            AccountKeyFile.Read(path, warn);
            _accountKeyFile = Path.GetFullPath(path);
        }

        public void AddDirectory(string flag, string directory)
        {
            if (directory.Length == 0)
            {
                throw new KeepConfigurationException($"-{flag} needs a directory");
            }

            // A directory that looks like a scheme://… location must still mean the directory.
            var location = ConnectorConfiguration.ParseLocation(directory).Scheme == ConnectorConfiguration.FileSystemScheme
                ? directory
                : $"{ConnectorConfiguration.FileSystemScheme}://{directory}";
            Options.Volumes.Add(new KeepVolumeSpec($"-{flag} {directory}", location, new Dictionary<string, string>(), ReadOnly, Serialize));
        }

        public void AddContainer(string container)
        {
            if (container.Length == 0)
            {
                throw new KeepConfigurationException("-azure-storage-container-volume needs a container name");
            }

            if (AccountName is null || _accountKeyFile is null)
            {
                throw new KeepConfigurationException(
                    $"-azure-storage-container-volume {container} comes before its account: give -azure-storage-account-name NAME and -azure-storage-account-key-file FILE first");
            }

            if (Serialize)
            {
                warn($"notice: -serialize does not apply to the Azure container volume {container}");
            }

            var options = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [AzureVolumeOptions.AccountName] = AccountName,
                [AzureVolumeOptions.AccountKeyFile] = _accountKeyFile,
                [AzureVolumeOptions.Replication] = Replication.ToString(CultureInfo.InvariantCulture),
            };
            if (Endpoint is not null)
            {
                options[AzureVolumeOptions.Endpoint] = Endpoint;
            }

            Options.Volumes.Add(new KeepVolumeSpec(
                $"-azure-storage-container-volume {container}", $"{AzureVolumeOptions.Scheme}://{container}", options, ReadOnly, Serialize: false));
        }
    }
}
