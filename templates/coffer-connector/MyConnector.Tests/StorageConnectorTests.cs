using Coffer.Abstractions;
using Coffer.Conformance;
using NUnit.Framework;

namespace MyConnector.Tests;

/// <summary>Holds the storage connector to the behaviour coffer expects of every storage connector.</summary>
[TestFixture]
public sealed class StorageConnectorTests : StorageConformanceTests
{
    private string _location = "";

    /// <summary>Each test gets a fresh, empty location.</summary>
    protected override Task CreateBackendAsync()
    {
        _location = Path.Combine(Path.GetTempPath(), $"myconnector-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_location);
        return Task.CompletedTask;
    }

    /// <summary>Removes the test's location.</summary>
    protected override Task DeleteBackendAsync()
    {
        Directory.Delete(_location, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Creates a connector on the test's location, as the host would.</summary>
    protected override async Task<IStorageConnector> CreateStorageAsync(ConnectorContext context)
    {
        var factory = new StorageConnectorFactory();
        var configuration = new ConnectorConfiguration($"myconnector://{_location}", context: context);
        configuration.Validate(factory.Descriptor);
        return await factory.CreateStorageAsync(configuration);
    }
}
