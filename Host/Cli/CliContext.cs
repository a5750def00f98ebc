using Coffer.Connectors;
using Coffer.Packager;

namespace Coffer.Cli;

/// <summary>
/// What every command shares: where coffer's files are, the output streams, and the connector catalog,
/// loaded on first use so commands that need no plugin (e.g. <c>--version</c>, <c>pkg</c>) start fast.
/// </summary>
internal sealed class CliContext : IDisposable
{
    private readonly Lazy<ConnectorCatalog> _catalog;
    private readonly TextWriter _output;
    private JsonOutput? _json;

    public CliContext(CofferPaths paths, TextWriter output, TextWriter error)
    {
        Paths = paths;
        _output = output;
        Error = error;
        _catalog = new Lazy<ConnectorCatalog>(() =>
        {
            var catalog = ConnectorCatalog.LoadInstalled(Paths, PluginStartLimit());
            catalog.Limits = Limits;
            foreach (var line in catalog.Errors)
            {
                Error.WriteLine($"coffer: {line}");
            }

            return catalog;
        });
    }

    /// <summary>Seconds a plugin's start-up may take (default <see cref="ConnectorCatalog.DefaultStartLimit"/>), e.g. for a slow machine.</summary>
    public const string PluginStartVariable = "COFFER_PLUGIN_START_SECONDS";

    public CofferPaths Paths { get; }

    /// <summary>Where human output goes: nowhere under <c>--quiet</c> (errors still go to <see cref="Error"/>).</summary>
    public TextWriter Output => Quiet ? TextWriter.Null : _output;

    /// <summary>Prints the <c>--json</c> documents (docs/json.md); status lines are left out under <c>--quiet</c>, summaries are not.</summary>
    public JsonOutput Json => _json ??= new JsonOutput(_output, Quiet);

    /// <summary>True under <c>--json</c>: commands print JSON documents instead of lines.</summary>
    public bool IsJson { get; set; }

    /// <summary>True under <c>--quiet</c>: only errors are printed.</summary>
    public bool Quiet { get; set; }

    /// <summary>True under <c>--verbose</c>: commands print a line per file they handle (never with <c>--json</c> or <c>--quiet</c>).</summary>
    public bool Verbose { get; set; }

    /// <summary>Where the lines only <c>--verbose</c> asks for go: nowhere without it.</summary>
    public TextWriter VerboseOutput => Verbose ? _output : TextWriter.Null;

    /// <summary>The global <c>--limit-upload</c>/<c>--limit-download</c>, given to the catalog when it is loaded (set before any command runs).</summary>
    public TransferLimits Limits { get; set; } = new(null, null);

    public TextWriter Error { get; }

    public ConnectorCatalog Catalog => _catalog.Value;

    /// <summary>The store named by <c>coffer at STORE …</c>, or null for the default store.</summary>
    public string? StoreReference { get; set; }

    /// <summary>True when a person is at a terminal: passphrases may be prompted for and progress shown.</summary>
    public bool IsInteractive { get; init; } = !Console.IsInputRedirected && !Console.IsErrorRedirected;

    /// <summary>Where <c>backup --stdin</c> reads (binary).</summary>
    public Func<Stream> OpenBinaryInput { get; init; } = Console.OpenStandardInput;

    /// <summary>False when standard input is a terminal: <c>backup --stdin</c> has nothing piped to read.</summary>
    public bool IsInputRedirected { get; init; } = Console.IsInputRedirected;

    /// <summary>Where <c>cat</c> writes file content (binary).</summary>
    public Func<Stream> OpenBinaryOutput { get; init; } = Console.OpenStandardOutput;

    /// <summary>The clock for snapshot times.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    private static TimeSpan? PluginStartLimit() =>
        double.TryParse(Environment.GetEnvironmentVariable(PluginStartVariable), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : null;

    public void Dispose()
    {
        if (_catalog.IsValueCreated)
        {
            _catalog.Value.Dispose();
        }
    }
}
