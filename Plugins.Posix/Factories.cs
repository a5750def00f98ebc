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
        [new ConnectorOption(MinimumFreeOption, "free bytes below which the volume counts as full and refuses writes; at least one block", DefaultValue: "67108864")]);

    /// <summary>The option that sets the free space a volume keeps.</summary>
    public const string MinimumFreeOption = "min_free";

    /// <inheritdoc />
    public ValueTask<IVolume> CreateVolumeAsync(ConnectorConfiguration configuration, VolumeSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(settings);
        // Less than one block free cannot hold the next write; an operator may keep more for others.
        var minimumFree = configuration.GetInt64(MinimumFreeOption, BlockHash.MaxBlockSize);
        if (minimumFree < BlockHash.MaxBlockSize)
        {
            throw new ConnectorConfigurationException($"option '{MinimumFreeOption}' must be at least one block ({BlockHash.MaxBlockSize} bytes), not {minimumFree}");
        }

        return ValueTask.FromResult<IVolume>(DirectoryVolume.Open(Location.Require(configuration, "volume"), minimumFree, settings, configuration.Context));
    }
}

/// <summary>Creates sources that walk a local directory tree.</summary>
public sealed class DirectorySourceFactory : ISourceConnectorFactory
{
    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Source,
        PosixPlugin.Scheme,
        "back up a local directory tree (files, directories, symlinks, modes, owners, mtimes, user xattrs)",
        [new ConnectorOption(XattrsOption, "carry the user.* extended attributes of files and directories as xattr.* metadata", DefaultValue: "true")]);

    /// <summary>The option that turns extended attributes off.</summary>
    public const string XattrsOption = "xattrs";

    /// <inheritdoc />
    public ValueTask<ISourceConnector> CreateSourceAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var root = Location.Require(configuration, "source");
        if (!Directory.Exists(root))
        {
            throw new ConnectorConfigurationException($"source directory '{configuration.Path}' does not exist");
        }

        // The root itself may be a link to the tree (links below it are never followed).
        return ValueTask.FromResult<ISourceConnector>(new DirectorySource(Native.RealPath(root), configuration.GetBoolean(XattrsOption, defaultValue: true)));
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
        // A root given as a link is resolved once here: the destination replaces links it finds
        // below its root, and must never take the root itself for one of them.
        return ValueTask.FromResult<IDestinationConnector>(new DirectoryDestination(Native.RealPath(root)));
    }
}
