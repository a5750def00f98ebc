using Coffer.Abstractions;
using Coffer.Conformance;
using NUnit.Framework;

namespace MyConnector.Tests;

/// <summary>
/// Holds the storage connector to the behaviour coffer expects of every storage connector: once
/// read-write, once reading through a connector opened with <c>read_only=true</c>.
/// </summary>
[TestFixture(StorageVariant.Normal)]
[TestFixture(StorageVariant.ReadOnly)]
public sealed class StorageConnectorTests(StorageVariant variant) : StorageConformanceTests(variant)
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

    /// <summary>Creates a connector on the test's location, as the host would; read-only when asked.</summary>
    protected override async Task<IStorageConnector> CreateStorageAsync(bool openReadOnly, ConnectorContext context)
    {
        var factory = new StorageConnectorFactory();
        var options = new Dictionary<string, string> { [StorageConnectorFactory.ReadOnlyOption] = openReadOnly ? "true" : "false" };
        var configuration = new ConnectorConfiguration($"myconnector://{_location}", options, context);
        configuration.Validate(factory.Descriptor);
        return await factory.CreateStorageAsync(configuration);
    }
}
