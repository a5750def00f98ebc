namespace Coffer.Abstractions;

/// <summary>
/// Creates connectors of one kind for one scheme. A plugin registers its factories with
/// <see cref="CofferServiceCollectionExtensions.AddConnectorFactory{TFactory}"/>; the host resolves them
/// as <see cref="IConnectorFactory"/> and picks by <see cref="ConnectorDescriptor.Scheme"/> and kind.
/// </summary>
public interface IConnectorFactory
{
    /// <summary>The kind, scheme and declared options of what this factory creates.</summary>
    ConnectorDescriptor Descriptor { get; }
}

/// <summary>Creates volumes.</summary>
public interface IVolumeFactory : IConnectorFactory
{
    /// <summary>Creates a volume; the host has validated the options against the descriptor.</summary>
    /// <param name="configuration">Location and options.</param>
    /// <param name="settings">Settings every volume honours.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The volume.</returns>
    /// <exception cref="ConnectorConfigurationException">The location or an option is unusable.</exception>
    ValueTask<IVolume> CreateVolumeAsync(ConnectorConfiguration configuration, VolumeSettings settings, CancellationToken cancellationToken = default);
}

/// <summary>Creates source connectors.</summary>
public interface ISourceConnectorFactory : IConnectorFactory
{
    /// <summary>Creates a source; the host has validated the options against the descriptor.</summary>
    /// <param name="configuration">Location and options.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The source.</returns>
    /// <exception cref="ConnectorConfigurationException">The location or an option is unusable.</exception>
    ValueTask<ISourceConnector> CreateSourceAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default);
}

/// <summary>Creates storage connectors.</summary>
public interface IStorageConnectorFactory : IConnectorFactory
{
    /// <summary>Creates a storage connector; the host has validated the options against the descriptor.</summary>
    /// <param name="configuration">Location and options.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The storage connector.</returns>
    /// <exception cref="ConnectorConfigurationException">The location or an option is unusable.</exception>
    ValueTask<IStorageConnector> CreateStorageAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default);
}

/// <summary>Creates destination connectors.</summary>
public interface IDestinationConnectorFactory : IConnectorFactory
{
    /// <summary>Creates a destination; the host has validated the options against the descriptor.</summary>
    /// <param name="configuration">Location and options.</param>
    /// <param name="cancellationToken">Cancels creation.</param>
    /// <returns>The destination.</returns>
    /// <exception cref="ConnectorConfigurationException">The location or an option is unusable.</exception>
    ValueTask<IDestinationConnector> CreateDestinationAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default);
}
