using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;

namespace Coffer.Plugins.Posix;

/// <summary>Creates stores kept in a local directory.</summary>
public sealed class DirectoryStorageFactory : IStorageConnectorFactory
{
    /// <summary>The option that opens a store without writing to it.</summary>
    public const string ReadOnlyOption = "read_only";

    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Storage,
        PosixPlugin.Scheme,
        "a store in a local directory (CONFIG, packfiles/, index/, snapshots/, locks/, keys/)",
        [new ConnectorOption(ReadOnlyOption, "open the store read-only: every put, delete and create is refused", DefaultValue: "false")]);

    /// <inheritdoc />
    public ValueTask<IStorageConnector> CreateStorageAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var mode = configuration.GetBoolean(ReadOnlyOption) ? StorageMode.ReadOnly : StorageMode.ReadWrite;
        return ValueTask.FromResult<IStorageConnector>(new DirectoryStorage(Location.Require(configuration, "store"), mode));
    }
}
