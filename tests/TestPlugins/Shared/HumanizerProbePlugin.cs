using System.Runtime.CompilerServices;
using Coffer.Abstractions;
using Humanizer;
using Microsoft.Extensions.DependencyInjection;

namespace Coffer.TestPlugins;

// Compiled into two plugins that depend on different Humanizer.Core versions. Each provides a source
// whose single entry names the Humanizer version its load context resolved, proving isolation.
public sealed class HumanizerProbePlugin : ICofferPlugin
{
    public void ConfigureServices(IServiceCollection services) => services.AddConnectorFactory<HumanizerProbeFactory>();
}

public sealed class HumanizerProbeFactory : ISourceConnectorFactory
{
    // "Coffer.TestPlugins.HumanizerOld" -> "humanizer-old"
    private static readonly string Scheme =
        "humanizer-" + typeof(HumanizerProbeFactory).Assembly.GetName().Name!["Coffer.TestPlugins.Humanizer".Length..].ToLowerInvariant();

    public ConnectorDescriptor Descriptor { get; } = new(ConnectorKind.Source, Scheme, "Reports which Humanizer it sees", []);

    public ValueTask<ISourceConnector> CreateSourceAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<ISourceConnector>(new HumanizerProbeSource());
}

public sealed class HumanizerProbeSource : ISourceConnector
{
    public string Description => "humanizer probe";

    public async IAsyncEnumerable<TreeEntry> ScanAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        var version = typeof(StringHumanizeExtensions).Assembly.GetName().Version!;
        yield return new TreeEntry($"{"probe_entry".Humanize()} {version.Major}.{version.Minor}", EntryKind.File);
    }

    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default) =>
        Task.FromResult<Stream>(new MemoryStream());

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
