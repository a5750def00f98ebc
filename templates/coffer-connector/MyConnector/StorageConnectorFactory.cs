using Coffer.Abstractions;

namespace MyConnector;

/// <summary>Creates storage connectors for <c>myconnector://…</c> locations.</summary>
public sealed class StorageConnectorFactory : IStorageConnectorFactory
{
    /// <summary>The option that opens a store read-only (the conformance tests' read-only variant uses it).</summary>
    public const string ReadOnlyOption = "read_only";

    /// <inheritdoc />
    public ConnectorDescriptor Descriptor { get; } = new(
        ConnectorKind.Storage,
        "myconnector",
        "Stores coffer stores in myconnector",
        [
            // Declare every option: the host refuses undeclared ones and masks the secret ones.
            // new ConnectorOption("api_key", "The key to reach the service", Required: true, Secret: true),
            new ConnectorOption(ReadOnlyOption, "Open the store read-only: create, put and delete are refused", DefaultValue: "false"),
        ]);

    /// <inheritdoc />
    public ValueTask<IStorageConnector> CreateStorageAsync(ConnectorConfiguration configuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);

        // configuration.Path is what follows "myconnector://"; configuration.Options holds key=value options,
        // read with GetString, GetRequiredString (e.g. the api_key above), GetBoolean and GetInt64.
        var mode = configuration.GetBoolean(ReadOnlyOption) ? StorageMode.ReadOnly : StorageMode.ReadWrite;
        return ValueTask.FromResult<IStorageConnector>(new StorageConnector(configuration.Path, mode));
    }
}
