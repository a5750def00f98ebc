using Coffer.Abstractions;
using Coffer.Plugins.Posix.Internal;

namespace Coffer.Plugins.Posix;

/// <summary>Creates sources that walk a local directory tree.</summary>
public sealed class DirectorySourceFactory : ISourceConnectorFactory
{
    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Source,
        PosixPlugin.Scheme,
        "back up a local directory tree (files, directories, symlinks, modes, owners, mtimes, user xattrs)",
        [
            new ConnectorOption(XattrsOption, "carry the user.* extended attributes of files and directories as xattr.* metadata", DefaultValue: "true"),
            new ConnectorOption(OneFileSystemOption, "do not cross into other file systems: a mount point is reported as an empty directory (backup --one-file-system)", DefaultValue: "false"),
        ]);

    /// <summary>The option that turns extended attributes off.</summary>
    public const string XattrsOption = "xattrs";

    /// <summary>The option that keeps the walk on the root's file system.</summary>
    public const string OneFileSystemOption = "one_file_system";

    /// <inheritdoc />
    public ValueTask<ISourceConnector> CreateSourceAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var root = Location.Require(configuration, "source");
        if (File.Exists(root))
        {
            throw new ConnectorConfigurationException($"source '{configuration.Path}' is a file, not a directory: back up the directory holding it (leave out the rest with --exclude)");
        }

        if (!Directory.Exists(root))
        {
            throw new ConnectorConfigurationException($"source directory '{configuration.Path}' does not exist");
        }

        // The root itself may be a link to the tree (links below it are never followed).
        return ValueTask.FromResult<ISourceConnector>(new DirectorySource(Native.RealPath(root), configuration.GetBoolean(XattrsOption, defaultValue: true))
        {
            OneFileSystem = configuration.GetBoolean(OneFileSystemOption),
        });
    }
}
