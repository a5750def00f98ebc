using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;

namespace Coffer.Plugins.Posix;

/// <summary>Creates keepstore-style directory volumes (<c>ROOT/abc/abc…</c>).</summary>
public sealed class DirectoryVolumeFactory : IVolumeFactory
{
    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Volume,
        PosixPlugin.Scheme,
        "a keepstore block volume in an existing local directory",
        []);

    /// <inheritdoc />
    public ValueTask<IVolume> CreateVolumeAsync(ConnectorConfiguration configuration, VolumeSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(settings);
        return ValueTask.FromResult<IVolume>(DirectoryVolume.Open(Location.Require(configuration, "volume"), settings, configuration.Context));
    }
}

/// <summary>Creates sources that walk a local directory tree.</summary>
public sealed class DirectorySourceFactory : ISourceConnectorFactory
{
    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Source,
        PosixPlugin.Scheme,
        "back up a local directory tree (files, directories, symlinks, modes, owners, mtimes)",
        []);

    /// <inheritdoc />
    public ValueTask<ISourceConnector> CreateSourceAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var root = Location.Require(configuration, "source");
        if (!Directory.Exists(root))
        {
            throw new ConnectorConfigurationException($"source directory '{configuration.Path}' does not exist");
        }

        return ValueTask.FromResult<ISourceConnector>(new DirectorySource(root));
    }
}

/// <summary>Creates stores kept in a local directory.</summary>
public sealed class DirectoryStorageFactory : IStorageConnectorFactory
{
    /// <summary>The option that opens a store without writing to it.</summary>
    public const string ReadOnlyOption = "read_only";

    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Storage,
        PosixPlugin.Scheme,
        "a store in a local directory (CONFIG, packfiles/, index/, snapshots/, locks/)",
        [new ConnectorOption(ReadOnlyOption, "open the store read-only: every put, delete and create is refused", DefaultValue: "false")]);

    /// <inheritdoc />
    public ValueTask<IStorageConnector> CreateStorageAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var mode = configuration.GetBoolean(ReadOnlyOption) ? StorageMode.ReadOnly : StorageMode.ReadWrite;
        return ValueTask.FromResult<IStorageConnector>(new DirectoryStorage(Location.Require(configuration, "store"), mode));
    }
}

/// <summary>Creates destinations that restore into a local directory.</summary>
public sealed class DirectoryDestinationFactory : IDestinationConnectorFactory
{
    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Destination,
        PosixPlugin.Scheme,
        "restore into a local directory (created if missing); never writes outside it",
        []);

    /// <inheritdoc />
    public ValueTask<IDestinationConnector> CreateDestinationAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var root = Location.Require(configuration, "destination");
        Directory.CreateDirectory(root);
        return ValueTask.FromResult<IDestinationConnector>(new DirectoryDestination(root));
    }
}
