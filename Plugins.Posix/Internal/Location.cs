using Coffer.Abstractions;

namespace Coffer.Plugins.Posix.Internal;

/// <summary>Turns an <c>fs</c> location into an absolute directory path.</summary>
internal static class Location
{
    /// <summary>The absolute path of the location, or a one-line error naming what is wrong.</summary>
    /// <exception cref="ConnectorConfigurationException">The location is empty or not an <c>fs</c> location.</exception>
    public static string Require(ConnectorConfiguration configuration, string what)
    {
        if (configuration.Scheme != PosixPlugin.Scheme)
        {
            throw new ConnectorConfigurationException($"{what} location '{configuration.Location}' is not a local path: use a directory path or fs:///path");
        }

        if (configuration.Path.Length == 0)
        {
            throw new ConnectorConfigurationException($"{what} location '{configuration.Location}' names no directory: give a path");
        }

        // Path.GetFullPath also removes a trailing slash, so every connector names its root one way.
        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(configuration.Path));
    }
}
