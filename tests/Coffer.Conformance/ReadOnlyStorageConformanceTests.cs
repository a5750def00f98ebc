using Coffer.Abstractions;
using NUnit.Framework;

namespace Coffer.Conformance;

/// <summary>
/// For storage connectors with a read-only mode: every case of <see cref="StorageConformanceTests"/>
/// again, with objects written through a read-write connector and every read (open, get, list) going
/// through one opened read-only on the same location, plus the refusal of every write.
/// </summary>
public abstract class ReadOnlyStorageConformanceTests : StorageConformanceTests
{
    /// <summary>Creates a connector opened read-only on the current test's location, the way the host does.</summary>
    protected abstract Task<IStorageConnector> CreateReadOnlyStorageAsync(ConnectorContext context);

    private protected sealed override Task<IStorageConnector> CreateReaderAsync(ConnectorContext context) => CreateReadOnlyStorageAsync(context);

    private protected sealed override StorageMode ReaderMode => StorageMode.ReadOnly;

    [Test]
    public async Task A_read_only_connector_refuses_every_write()
    {
        var (writer, readOnly) = await OpenCreatedAsync();
        await PutAsync(writer, StorageObjectClass.Snapshot, Name(400), [7, 7, 7]);

        Assert.That(readOnly.Mode, Is.EqualTo(StorageMode.ReadOnly));
        Assert.ThrowsAsync<ReadOnlyException>(() => readOnly.CreateAsync("other"u8.ToArray()));
        Assert.ThrowsAsync<ReadOnlyException>(() => PutAsync(readOnly, StorageObjectClass.Snapshot, Name(401), [1]));
        Assert.ThrowsAsync<ReadOnlyException>(() => PutAsync(readOnly, StorageObjectClass.Snapshot, Name(400), [1]));
        Assert.ThrowsAsync<ReadOnlyException>(() => readOnly.DeleteAsync(StorageObjectClass.Snapshot, Name(400)));

        Assert.That(await ListAsync(readOnly, StorageObjectClass.Snapshot), Is.EqualTo(new[] { new StorageObject(Name(400), 3) }), "nothing changed");
        Assert.That(await GetAsync(readOnly, StorageObjectClass.Snapshot, Name(400)), Is.EqualTo(new byte[] { 7, 7, 7 }));
    }
}
