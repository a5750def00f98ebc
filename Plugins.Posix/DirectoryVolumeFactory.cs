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
