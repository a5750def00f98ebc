using Azure.Storage.Blobs;
using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>
/// The azblob plugin loaded the way the host loads it (its build output, through the plugin loader), and the
/// shared Azurite server the tests point it at.
/// </summary>
internal static class AzBlobHarness
{
    private static readonly Lazy<ConnectorCatalog> LazyCatalog = new(() =>
    {
        var catalog = ConnectorCatalog.Load([new PluginSource("azblob", RepositoryPaths.BundledPluginEntry("AzBlob"))]);
        if (catalog.Errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join("\n", catalog.Errors));
        }

        return catalog;
    });

    public static ConnectorCatalog Catalog => LazyCatalog.Value;

    public static Task<AzuriteServer> ServerAsync() => AzuriteServer.GetSharedAsync();

    /// <summary>A configuration for a location in the default Azurite account, by connection string unless options are given.</summary>
    public static ConnectorConfiguration Configuration(AzuriteServer server, string location, ConnectorContext? context = null, IReadOnlyDictionary<string, string>? options = null) =>
        new(location, options ?? new Dictionary<string, string> { ["connection_string"] = server.ConnectionString }, context);

    public static string Location(BlobContainerClient container, string prefix = "") =>
        prefix.Length == 0 ? $"azblob://{container.Name}" : $"azblob://{container.Name}/{prefix}";

    public static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
