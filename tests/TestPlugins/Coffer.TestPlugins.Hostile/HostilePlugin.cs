using System.Runtime.CompilerServices;
using Coffer.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace Coffer.TestPlugins;

// A plugin that does what a plugin must not, chosen by COFFER_TEST_HOSTILE in the coffer process:
// "exit" calls Environment.Exit(0) while registering, "hang" never returns from registering,
// "exit-scan" calls Environment.Exit(0) in the middle of a backup. Unset, it is a harmless source.
public sealed class HostilePlugin : ICofferPlugin
{
    public const string BehaviourVariable = "COFFER_TEST_HOSTILE";

    public static string Behaviour => Environment.GetEnvironmentVariable(BehaviourVariable) ?? "";

    public void ConfigureServices(IServiceCollection services)
    {
        switch (Behaviour)
        {
            case "exit":
                Environment.Exit(0);
                break;
            case "hang":
                Thread.Sleep(Timeout.Infinite);
                break;
        }

        services.AddConnectorFactory<HostileSourceFactory>();
    }
}

public sealed class HostileSourceFactory : ISourceConnectorFactory
{
    public ConnectorDescriptor Descriptor { get; } = new(ConnectorKind.Source, "hostile", "a source that may end the process", []);

    public ValueTask<ISourceConnector> CreateSourceAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<ISourceConnector>(new HostileSource());
}

public sealed class HostileSource : ISourceConnector
{
    public string Description => "hostile source";

    public async IAsyncEnumerable<TreeEntry> ScanAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        yield return new TreeEntry("", EntryKind.Directory);
        yield return new TreeEntry("first", EntryKind.File) { Size = 5 };
        if (HostilePlugin.Behaviour == "exit-scan")
        {
            Environment.Exit(0);
        }

        yield return new TreeEntry("second", EntryKind.File) { Size = 5 };
    }

    public Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default) =>
        Task.FromResult<Stream>(new MemoryStream("hello"u8.ToArray()));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
