namespace Coffer.Abstractions;

/// <summary>The four kinds of connector a plugin can provide.</summary>
public enum ConnectorKind
{
    /// <summary>A content-addressed block device (<see cref="IVolume"/>), as keepstore's volumes.</summary>
    Volume,

    /// <summary>What a backup reads (<see cref="ISourceConnector"/>).</summary>
    Source,

    /// <summary>The backend of a store (<see cref="IStorageConnector"/>).</summary>
    Storage,

    /// <summary>What a restore writes (<see cref="IDestinationConnector"/>).</summary>
    Destination,
}
