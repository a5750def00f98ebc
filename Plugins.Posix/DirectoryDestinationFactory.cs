using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;

namespace Coffer.Plugins.Posix;

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
