using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Locks;
using Coffer.Engine.Repository.Portable;

namespace Coffer.Cli;

/// <summary>
/// Turns what the user typed into connectors: <c>at STORE</c> (a path, a <c>scheme://</c> location or
/// <c>@name</c>; nothing means the default store under the data directory), sources and destinations
/// (<c>PATH</c>, a location, or <c>@name[:sub]</c>), and <c>SNAPSHOT[:path]</c>.
/// </summary>
internal static class StoreReferences
{
    public const string DefaultStoreFolder = "store";

    public static string DefaultStoreLocation(CliContext context) => Path.Combine(context.Paths.DataDirectory, DefaultStoreFolder);

    /// <summary>How the user names the store in hints (<c>coffer at X …</c>, or just <c>coffer …</c>).</summary>
    public static string Hint(CliContext context, string command) =>
        context.StoreReference is null ? $"coffer {command}" : $"coffer at {context.StoreReference} {command}";

    public static Task<IStorageConnector> ConnectStoreAsync(CliContext context, CancellationToken cancellationToken) =>
        ConnectStoreAsync(context, context.StoreReference, cancellationToken);

    /// <summary>Connects to the store <paramref name="reference"/> names (as <c>at STORE</c> would; null: the default store).</summary>
    public static async Task<IStorageConnector> ConnectStoreAsync(CliContext context, string? reference, CancellationToken cancellationToken)
    {
        ConnectorConfiguration configuration;
        if (reference is null)
        {
            configuration = new ConnectorConfiguration(DefaultStoreLocation(context));
        }
        else if (reference.StartsWith('@'))
        {
            configuration = new NamedConnectors(context.Paths.ConfigDirectory, ConnectorKind.Storage).Get(reference[1..]).ToConfiguration();
        }
        else if (PortableStore.IsPortable(reference))
        {
            return await PortableStore.OpenFileAsync(Path.GetFullPath(reference), cancellationToken);
        }
        else
        {
            configuration = new ConnectorConfiguration(AbsoluteIfPath(reference));
        }

        return await context.Catalog.CreateStorageAsync(configuration, cancellationToken);
    }

    /// <summary>Creates a store where the command line says, refusing one that exists before asking for a passphrase; returns its CONFIG and where it is.</summary>
    /// <param name="context">The command line's context.</param>
    /// <param name="passphrase">Asks for the new store's passphrase; null makes a plaintext store.</param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    public static async Task<(StoreConfig Config, string Location)> CreateStoreAsync(CliContext context, Func<string?> passphrase, CancellationToken cancellationToken)
    {
        var storage = await ConnectStoreAsync(context, cancellationToken);
        await using (storage)
        {
            // Refuse before asking for a passphrase, so nobody types one twice for nothing.
            if (await CofferStore.ExistsAsync(storage, cancellationToken))
            {
                throw AlreadyExists(storage.Description);
            }

            var chosen = passphrase();
            try
            {
                return (await CofferStore.CreateAsync(storage, chosen, context.Time, Environment.MachineName, cancellationToken), storage.Description);
            }
            catch (StoreAlreadyExistsException)
            {
                throw AlreadyExists(storage.Description);
            }
        }
    }

    private static CliFailure AlreadyExists(string location) =>
        new($"a store already exists at {location}: use it, or create one elsewhere with 'coffer at LOCATION create'");

    /// <summary>Connects to the store the command line names, opens it (asking for its passphrase if needed), runs <paramref name="action"/>.</summary>
    internal static async Task<int> WithStoreAsync(CliContext context, string? passphraseFile, Func<CofferStore, Task<int>> action, CancellationToken cancellationToken, LockKind? lockKind = null)
    {
        var storage = await ConnectStoreAsync(context, cancellationToken);
        await using (storage)
        {
            var store = await OpenStoreAsync(context, storage, passphraseFile, cancellationToken, loadIndex: false);

            // A read-only store (a portable one) cannot hold a lock, and nothing can change under a reader.
            lockKind = store.IsReadOnly && lockKind is LockKind.Read ? null : lockKind;
            if (lockKind is not { } kind)
            {
                await store.LoadIndexAsync(cancellationToken);
                return await action(store);
            }

            // Lock first, then read the index: maintenance's two-phase delete relies on that order.
            var held = await StoreLock.AcquireAsync(store, kind, context.Time, Environment.MachineName, Hint(context, "unlock"), cancellationToken);
            await using (held)
            {
                await store.LoadIndexAsync(cancellationToken);
                return await action(store);
            }
        }
    }

    /// <summary>Connects to the store the command line names and opens it without its index or a lock (the key commands), runs <paramref name="action"/>.</summary>
    internal static async Task<int> WithUnindexedStoreAsync(CliContext context, string? passphraseFile, Func<CofferStore, Task<int>> action, CancellationToken cancellationToken)
    {
        var storage = await ConnectStoreAsync(context, cancellationToken);
        await using (storage)
        {
            return await action(await OpenStoreAsync(context, storage, passphraseFile, cancellationToken, loadIndex: false));
        }
    }

    /// <summary>
    /// Opens a second store, <paramref name="reference"/>, to write into beside <paramref name="source"/> (<c>sync --to</c>):
    /// refuses no store there, the source store itself and a read-only store, locks it for a backup, loads its index, runs <paramref name="action"/>.
    /// </summary>
    internal static async Task<int> WithDestinationStoreAsync(CliContext context, string reference, CofferStore source, Func<string> passphrase, Func<CofferStore, Task<int>> action, CancellationToken cancellationToken)
    {
        var storage = await ConnectStoreAsync(context, reference, cancellationToken);
        await using (storage)
        {
            var config = await ReadStoreConfigAsync(storage, $"coffer at {reference} create", cancellationToken);
            if (config.Id == source.Config.Id)
            {
                throw new CliFailure($"--to {reference} is the source store itself: give another store to copy into");
            }

            var destination = await CofferStore.OpenAsync(storage, config, passphrase, cancellationToken, loadIndex: false);
            destination.IndexCacheRoot = context.Paths.CacheDirectory;
            if (destination.IsReadOnly)
            {
                throw new CliFailure($"--to {reference} is read-only (a portable store): give a store that can be written");
            }

            // Lock, then read the index, as every writer does (maintenance's two-phase delete relies on that order).
            var held = await StoreLock.AcquireAsync(destination, LockKind.Backup, context.Time, Environment.MachineName, $"coffer at {reference} unlock", cancellationToken);
            await using (held)
            {
                await destination.LoadIndexAsync(cancellationToken);
                return await action(destination);
            }
        }
    }

    /// <summary>Opens the store: reads CONFIG, asks for the passphrase if it is encrypted, loads the index.</summary>
    public static async Task<CofferStore> OpenStoreAsync(CliContext context, IStorageConnector storage, string? passphraseFile, CancellationToken cancellationToken, bool loadIndex = true)
    {
        var config = await ReadStoreConfigAsync(storage, Hint(context, "create"), cancellationToken);
        var store = await CofferStore.OpenAsync(storage, config, () => Passphrases.ForOpen(context, passphraseFile, context.StoreReference is null), cancellationToken, loadIndex: false);
        store.Warn = line => context.Error.WriteLine($"coffer: warning: {line}");
        store.IndexCacheRoot = context.Paths.CacheDirectory;
        if (loadIndex)
        {
            await store.LoadIndexAsync(cancellationToken);
        }

        return store;
    }

    /// <summary>Reads a store's CONFIG; no store there is a refusal that says how to create one (<paramref name="createCommand"/>).</summary>
    public static async Task<StoreConfig> ReadStoreConfigAsync(IStorageConnector storage, string createCommand, CancellationToken cancellationToken)
    {
        try
        {
            return await CofferStore.ReadConfigAsync(storage, cancellationToken);
        }
        catch (NotFoundException)
        {
            throw new CliFailure($"no store at {storage.Description}: create one with '{createCommand}'");
        }
    }

    /// <summary>
    /// Masks the values of every query string in <paramref name="message"/> that comes from one of the
    /// <paramref name="arguments"/> (<c>azblob://c?sig=SECRET</c> becomes <c>azblob://c?sig=…</c>): a location's
    /// query may carry a SAS signature or a token, and an error that echoes the location must not print it.
    /// </summary>
    public static string MaskQueryValues(string message, IEnumerable<string> arguments)
    {
        foreach (var argument in arguments)
        {
            var query = argument.IndexOf('?', StringComparison.Ordinal);
            if (query < 0)
            {
                continue;
            }

            foreach (var pair in argument[(query + 1)..].Split('&'))
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                var value = equals < 0 ? pair : pair[(equals + 1)..];
                if (value.Length > 0)
                {
                    message = message.Replace(equals < 0 ? value : $"{pair[..equals]}={value}", equals < 0 ? "…" : $"{pair[..equals]}=…", StringComparison.Ordinal);
                }
            }
        }

        return message;
    }

    /// <summary>A source reference: the configuration, and the stable name a snapshot records (its parent is found by it).</summary>
    public static (ConnectorConfiguration Configuration, string Name) ResolveSource(CliContext context, string reference)
    {
        if (reference.StartsWith('@'))
        {
            var (name, sub) = SplitNamed(reference);
            var named = new NamedConnectors(context.Paths.ConfigDirectory, ConnectorKind.Source).Get(name);
            return (named.ToConfiguration(sub), reference);
        }

        var location = AbsoluteIfPath(reference);
        return (new ConnectorConfiguration(location), location);
    }

    /// <summary>The name a snapshot records for a source reference (<see cref="ResolveSource"/>'s), without looking the source up: <c>@name[:sub]</c> as given, a path made absolute.</summary>
    public static string SourceName(string reference) => reference.StartsWith('@') ? reference : AbsoluteIfPath(reference);

    public static ConnectorConfiguration ResolveDestination(CliContext context, string reference)
    {
        if (reference.StartsWith('@'))
        {
            var (name, sub) = SplitNamed(reference);
            return new NamedConnectors(context.Paths.ConfigDirectory, ConnectorKind.Destination).Get(name).ToConfiguration(sub);
        }

        return new ConnectorConfiguration(AbsoluteIfPath(reference));
    }

    /// <summary>Splits <c>SNAPSHOT[:path]</c>.</summary>
    public static (string Snapshot, string Path) SplitSnapshot(string reference)
    {
        var colon = reference.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (reference, "") : (reference[..colon], reference[(colon + 1)..].Trim('/'));
    }

    private static (string Name, string? Sub) SplitNamed(string reference)
    {
        var colon = reference.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? (reference[1..], null) : (reference[1..colon], reference[(colon + 1)..]);
    }

    // A relative path means relative to where the user is, not to wherever a connector resolves it.
    private static string AbsoluteIfPath(string location) =>
        ConnectorConfiguration.ParseLocation(location).Scheme == ConnectorConfiguration.FileSystemScheme && !location.Contains("://", StringComparison.Ordinal)
            ? Path.GetFullPath(location)
            : location;
}
