using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Crypto;
using Coffer.TestSupport;
using NUnit.Framework;

namespace Coffer.TestSupport;

/// <summary>Runs the engine in-process over the real bundled connectors.</summary>
internal static class EngineHarness
{
    public const string Passphrase = "correct horse battery staple";

    public static ConnectorCatalog LoadBundled()
    {
        Environment.SetEnvironmentVariable(StoreKeys.TestKdfVariable, "1");
        return ConnectorCatalog.Load([
            new PluginSource("posix", RepositoryPaths.BundledPluginEntry("Posix")),
            new PluginSource("azblob", RepositoryPaths.BundledPluginEntry("AzBlob")),
        ]);
    }

    public static async Task<CofferStore> CreateAndOpenAsync(IStorageConnector storage, string? passphrase = Passphrase)
    {
        await CofferStore.CreateAsync(storage, passphrase, TimeProvider.System, Environment.MachineName, CancellationToken.None);
        var config = await CofferStore.ReadConfigAsync(storage, CancellationToken.None);
        return await CofferStore.OpenAsync(storage, config, () => passphrase!, CancellationToken.None);
    }

    public static async Task<CofferStore> ReopenAsync(IStorageConnector storage, string passphrase = Passphrase)
    {
        var config = await CofferStore.ReadConfigAsync(storage, CancellationToken.None);
        return await CofferStore.OpenAsync(storage, config, () => passphrase, CancellationToken.None);
    }

    public static async Task<Snapshot> BackupAsync(CofferStore store, ISourceConnector source, string name, params string[] excludes)
    {
        var runner = new BackupRunner(store, source, new BackupRequest(name, [], excludes), TimeProvider.System, Environment.MachineName, new BackupProgress());
        var result = await runner.RunAsync(CancellationToken.None);
        Assert.That(result.Warnings, Is.Empty);
        return result.Snapshot;
    }

    /// <summary>Backs up the directory <paramref name="source"/> into a new store on <paramref name="storage"/> and restores it into <paramref name="restored"/>.</summary>
    public static async Task<Snapshot> FsRoundTripAsync(ConnectorCatalog catalog, IStorageConnector storage, string source, string restored, string? passphrase = Passphrase)
    {
        var store = await CreateAndOpenAsync(storage, passphrase);
        Snapshot snapshot;
        await using (var connector = await catalog.CreateSourceAsync(new ConnectorConfiguration(source)))
        {
            snapshot = await BackupAsync(store, connector, source);
        }

        Directory.CreateDirectory(restored);
        await using (var destination = await catalog.CreateDestinationAsync(new ConnectorConfiguration(restored)))
        {
            await RestoreAsync(passphrase is null ? store : await ReopenAsync(storage, passphrase), snapshot, destination);
        }

        return snapshot;
    }

    public static async Task<(long Files, long Bytes)> RestoreAsync(CofferStore store, Snapshot snapshot, IDestinationConnector destination, string path = "", RestoreOptions? options = null)
    {
        var result = await new RestoreRunner(store, destination, new BackupProgress(), options).RunAsync(snapshot, path, CancellationToken.None);
        return (result.Files, result.Bytes);
    }
}
