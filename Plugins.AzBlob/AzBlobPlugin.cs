using Coffer.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace Coffer.Plugins.AzBlob;

/// <summary>
/// The azblob package: an Azure Blob Storage volume (keepstore's Azure volume) and the azblob source, storage
/// and destination, all at <c>azblob://CONTAINER[/PREFIX]</c>.
/// </summary>
public sealed class AzBlobPlugin : ICofferPlugin
{
    /// <summary>The location scheme every azblob connector serves.</summary>
    public const string Scheme = "azblob";

    /// <inheritdoc />
    public void ConfigureServices(IServiceCollection services)
    {
        services.AddConnectorFactory<AzBlobVolumeFactory>();
        services.AddConnectorFactory<AzBlobSourceFactory>();
        services.AddConnectorFactory<AzBlobStorageFactory>();
        services.AddConnectorFactory<AzBlobDestinationFactory>();
    }
}
