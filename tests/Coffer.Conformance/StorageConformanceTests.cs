using System.Text;
using Coffer.Abstractions;
using Coffer.Conformance.Support;
using NUnit.Framework;

namespace Coffer.Conformance;

/// <summary>How a storage suite runs.</summary>
public enum StorageVariant
{
    /// <summary>Everything goes through read-write connectors.</summary>
    Normal,

    /// <summary>
    /// Objects are written through a read-write connector and every read (open, get, list) goes through a
    /// connector opened read-only on the same location.
    /// </summary>
    ReadOnly,
}

/// <summary>
/// The behaviour every <see cref="IStorageConnector"/> is held to. A connector's test project inherits
/// it (once per <see cref="StorageVariant"/>) and supplies a fresh, empty location per test; every
/// connector it opens points at that location.
/// </summary>
public abstract class StorageConformanceTests
{
    /// <summary>The size of the object that must stream through without being held in memory.</summary>
    protected const long LargeObjectSize = 100L * 1024 * 1024;

    private readonly List<IStorageConnector> _opened = [];

    protected StorageConformanceTests(StorageVariant variant) => Variant = variant;

    /// <summary>The variant this fixture instance runs.</summary>
    protected StorageVariant Variant { get; }

    /// <summary>The context every connector of the current test is created with.</summary>
    protected ConnectorContext Context { get; private set; } = ConnectorContext.Default;

    /// <summary>Every object class, for per-class test cases.</summary>
    public static IEnumerable<StorageObjectClass> ObjectClasses => Enum.GetValues<StorageObjectClass>();

    /// <summary>Makes a fresh location for the current test, holding no store.</summary>
    protected abstract Task CreateBackendAsync();

    /// <summary>Removes the current test's location.</summary>
    protected abstract Task DeleteBackendAsync();

    /// <summary>
    /// Creates a storage connector on the current test's location, the way the host does; with
    /// <paramref name="openReadOnly"/> its <see cref="IStorageConnector.Mode"/> is read-only.
    /// </summary>
    protected abstract Task<IStorageConnector> CreateStorageAsync(bool openReadOnly, ConnectorContext context);

    [SetUp]
    public async Task SetUpStorageBackendAsync()
    {
        Context = new ConnectorContext { Time = new ManualClock() };
        await CreateBackendAsync();
    }

    [TearDown]
    public async Task TearDownStorageBackendAsync()
    {
        foreach (var storage in _opened)
        {
            await storage.DisposeAsync();
        }

        _opened.Clear();
        await DeleteBackendAsync();
    }

    /// <summary>Opens a connector on the current location; the fixture disposes it.</summary>
    protected async Task<IStorageConnector> OpenAsync(bool readOnly = false)
    {
        var storage = await CreateStorageAsync(openReadOnly: readOnly, Context);
        _opened.Add(storage);
        return storage;
    }

    /// <summary>Opens the connector reads go through: read-only in that variant.</summary>
    protected Task<IStorageConnector> OpenReaderAsync() => OpenAsync(readOnly: Variant == StorageVariant.ReadOnly);

    /// <summary>Creates a store with a small config; returns the writer and the reader (the same in the normal variant).</summary>
    protected async Task<(IStorageConnector Writer, IStorageConnector Reader)> OpenCreatedAsync()
    {
        var writer = await OpenAsync();
        await writer.CreateAsync(Encoding.UTF8.GetBytes("{\"version\":1}"));
        return (writer, Variant == StorageVariant.ReadOnly ? await OpenReaderAsync() : writer);
    }

    private static async Task PutAsync(IStorageConnector storage, StorageObjectClass objectClass, string name, byte[] content)
    {
        await using var stream = new MemoryStream(content, writable: false);
        await storage.PutAsync(objectClass, name, stream);
    }

    private static async Task<byte[]> GetAsync(IStorageConnector storage, StorageObjectClass objectClass, string name, long offset = 0, long? length = null)
    {
        await using var stream = await storage.GetAsync(objectClass, name, offset, length);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static async Task<List<StorageObject>> ListAsync(IStorageConnector storage, StorageObjectClass objectClass)
    {
        var objects = new List<StorageObject>();
        await foreach (var o in storage.ListAsync(objectClass))
        {
            objects.Add(o);
        }

        return objects;
    }

    // Names that look like what the engine writes: hex ids for packfiles and indexes, others free-form.
    private static string Name(int n) => Convert.ToHexStringLower(BitConverter.GetBytes(unchecked((ulong)n * 0x9E3779B97F4A7C15UL))) + $"{n:d4}";

    [Test]
    public async Task Open_returns_the_config_given_to_create()
    {
        var config = PseudoRandomStream.Bytes(777, 1);
        var creator = await OpenAsync();
        await creator.CreateAsync(config);

        var reader = await OpenReaderAsync();

        Assert.That(await reader.OpenAsync(), Is.EqualTo(config));
        Assert.That(reader.Mode, Is.EqualTo(Variant == StorageVariant.ReadOnly ? StorageMode.ReadOnly : StorageMode.ReadWrite));
    }

    [Test]
    public async Task Create_where_a_store_exists_fails_and_keeps_the_first_config()
    {
        var first = await OpenAsync();
        await first.CreateAsync("first"u8.ToArray());
        var second = await OpenAsync();

        Assert.ThrowsAsync<StoreAlreadyExistsException>(() => second.CreateAsync("second"u8.ToArray()));
        Assert.ThrowsAsync<StoreAlreadyExistsException>(() => first.CreateAsync("again"u8.ToArray()));
        Assert.That(await (await OpenReaderAsync()).OpenAsync(), Is.EqualTo("first"u8.ToArray()));
    }

    [Test]
    public async Task Concurrent_creates_let_exactly_one_succeed()
    {
        var connectors = new List<IStorageConnector>();
        for (var i = 0; i < 8; i++)
        {
            connectors.Add(await OpenAsync());
        }

        var attempts = connectors.Select((c, i) => Task.Run(async () =>
        {
            try
            {
                await c.CreateAsync(Encoding.UTF8.GetBytes($"config {i}"));
                return $"config {i}";
            }
            catch (StoreAlreadyExistsException)
            {
                return null;
            }
        }));
        var winners = (await Task.WhenAll(attempts)).Where(w => w is not null).ToList();

        Assert.That(winners, Has.Count.EqualTo(1));
        Assert.That(Encoding.UTF8.GetString(await (await OpenReaderAsync()).OpenAsync()), Is.EqualTo(winners[0]));
    }

    [Test]
    public async Task Open_where_no_store_exists_is_not_found()
    {
        var storage = await OpenReaderAsync();

        var error = Assert.ThrowsAsync<NotFoundException>(() => storage.OpenAsync());
        Assert.That(error!.Message, Does.Not.Contain("\n"));
    }

    [TestCaseSource(nameof(ObjectClasses))]
    public async Task Put_then_get_returns_the_content(StorageObjectClass objectClass)
    {
        var (writer, reader) = await OpenCreatedAsync();
        var content = PseudoRandomStream.Bytes(300_000, 2);

        await PutAsync(writer, objectClass, Name(1), content);

        Assert.That(await GetAsync(reader, objectClass, Name(1)), Is.EqualTo(content));
        Assert.That(await GetAsync(await OpenReaderAsync(), objectClass, Name(1)), Is.EqualTo(content), "another connector on the same location sees it");
    }

    [TestCaseSource(nameof(ObjectClasses))]
    public async Task Put_of_an_empty_object_stores_it(StorageObjectClass objectClass)
    {
        var (writer, reader) = await OpenCreatedAsync();

        await PutAsync(writer, objectClass, Name(2), []);

        Assert.That(await GetAsync(reader, objectClass, Name(2)), Is.Empty);
        Assert.That(await ListAsync(reader, objectClass), Is.EqualTo(new[] { new StorageObject(Name(2), 0) }));
    }

    [TestCaseSource(nameof(ObjectClasses))]
    public async Task Range_get_returns_the_requested_bytes(StorageObjectClass objectClass)
    {
        var (writer, reader) = await OpenCreatedAsync();
        var content = PseudoRandomStream.Bytes(100_000, 3);
        await PutAsync(writer, objectClass, Name(3), content);

        Assert.That(await GetAsync(reader, objectClass, Name(3), 1000, 5000), Is.EqualTo(content[1000..6000]));
        Assert.That(await GetAsync(reader, objectClass, Name(3), 99_000), Is.EqualTo(content[99_000..]), "no length reads to the end");
        Assert.That(await GetAsync(reader, objectClass, Name(3), 0, 1), Is.EqualTo(content[..1]));
        Assert.That(await GetAsync(reader, objectClass, Name(3), 500, 0), Is.Empty);
        Assert.That(await GetAsync(reader, objectClass, Name(3), 99_990, 10), Is.EqualTo(content[99_990..]), "a range ending at the last byte");
    }

    [TestCaseSource(nameof(ObjectClasses))]
    public async Task List_returns_every_object_of_the_class_with_its_size(StorageObjectClass objectClass)
    {
        var (writer, reader) = await OpenCreatedAsync();
        var expected = new List<StorageObject>();
        for (var i = 0; i < 12; i++)
        {
            await PutAsync(writer, objectClass, Name(10 + i), PseudoRandomStream.Bytes(i * 100, (ulong)i));
            expected.Add(new StorageObject(Name(10 + i), i * 100));
        }

        // Objects of the other classes must not show up in this class's listing.
        foreach (var other in ObjectClasses.Where(c => c != objectClass))
        {
            await PutAsync(writer, other, Name(90), [1, 2, 3]);
        }

        Assert.That(await ListAsync(reader, objectClass), Is.EquivalentTo(expected));
    }

    [TestCaseSource(nameof(ObjectClasses))]
    public async Task Delete_removes_the_object_and_deleting_a_missing_one_is_fine(StorageObjectClass objectClass)
    {
        var (writer, reader) = await OpenCreatedAsync();
        await PutAsync(writer, objectClass, Name(4), [1, 2, 3]);
        await PutAsync(writer, objectClass, Name(5), [4, 5]);

        await writer.DeleteAsync(objectClass, Name(4));
        await writer.DeleteAsync(objectClass, Name(4));
        await writer.DeleteAsync(objectClass, Name(6));

        Assert.ThrowsAsync<NotFoundException>(() => reader.GetAsync(objectClass, Name(4)));
        Assert.That(await ListAsync(reader, objectClass), Is.EqualTo(new[] { new StorageObject(Name(5), 2) }));
    }

    // Locks come and go while other commands list them, and maintenance deletes packs others list: an
    // object deleted between the listing and reading its size is absent, never an error.
    [TestCase(StorageObjectClass.Lock)]
    [TestCase(StorageObjectClass.Packfile)]
    public async Task Listing_while_objects_are_deleted_never_fails_and_lists_only_real_objects(StorageObjectClass objectClass)
    {
        var (writer, reader) = await OpenCreatedAsync();
        for (var round = 0; round < 2; round++)
        {
            var objects = Enumerable.Range(0, 100).ToDictionary(i => Name(1000 + (round * 100) + i), i => (long)(i % 7));
            await Task.WhenAll(objects.Select(o => Task.Run(() => PutAsync(writer, objectClass, o.Key, new byte[o.Value]))));

            var deleting = Task.Run(() => Parallel.ForEachAsync(objects.Keys, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (name, ct) => await writer.DeleteAsync(objectClass, name, ct)));
            var listings = 0;
            do
            {
                foreach (var listed in await ListAsync(reader, objectClass))
                {
                    Assert.That(objects.TryGetValue(listed.Name, out var size), Is.True, $"listed {listed.Name}, which was never put");
                    Assert.That(listed.Size, Is.EqualTo(size), listed.Name);
                }

                listings++;
            }
            while (!deleting.IsCompleted);

            await deleting;
            Assert.That(await ListAsync(reader, objectClass), Is.Empty, $"after {listings} listings during the deletes");
        }
    }

    [TestCaseSource(nameof(ObjectClasses))]
    public async Task Put_replaces_an_object_of_the_same_name(StorageObjectClass objectClass)
    {
        var (writer, reader) = await OpenCreatedAsync();
        await PutAsync(writer, objectClass, Name(7), PseudoRandomStream.Bytes(5000, 7));
        var replacement = PseudoRandomStream.Bytes(300, 8);

        await PutAsync(writer, objectClass, Name(7), replacement);

        Assert.That(await GetAsync(reader, objectClass, Name(7)), Is.EqualTo(replacement));
        Assert.That(await ListAsync(reader, objectClass), Is.EqualTo(new[] { new StorageObject(Name(7), 300) }));
    }

    [TestCaseSource(nameof(ObjectClasses))]
    public async Task Get_of_a_missing_object_is_a_one_line_not_found_naming_it(StorageObjectClass objectClass)
    {
        var (_, reader) = await OpenCreatedAsync();

        var error = Assert.ThrowsAsync<NotFoundException>(() => reader.GetAsync(objectClass, Name(8)));

        Assert.That(error!.Message, Does.Contain(Name(8)));
        Assert.That(error.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public async Task Invalid_object_names_are_refused([Values("../escape", "a/b", ".hidden", "", "with space")] string name)
    {
        var (writer, reader) = await OpenCreatedAsync();

        Assert.ThrowsAsync(Is.InstanceOf<ArgumentException>(), () => PutAsync(writer, StorageObjectClass.Packfile, name, [1]));
        Assert.ThrowsAsync(Is.InstanceOf<ArgumentException>(), () => reader.GetAsync(StorageObjectClass.Packfile, name));
        Assert.ThrowsAsync(Is.InstanceOf<ArgumentException>(), () => writer.DeleteAsync(StorageObjectClass.Packfile, name));
        Assert.That(await ListAsync(reader, StorageObjectClass.Packfile), Is.Empty);
    }

    [Test]
    public async Task Concurrent_puts_store_every_object_intact()
    {
        var (writer, reader) = await OpenCreatedAsync();
        var objects = Enumerable.Range(0, 32).Select(i => (Name: Name(100 + i), Class: (StorageObjectClass)(i % 4), Data: PseudoRandomStream.Bytes(50_000 + i, 100 + (ulong)i))).ToList();

        await Task.WhenAll(objects.Select(o => Task.Run(() => PutAsync(writer, o.Class, o.Name, o.Data))));

        foreach (var (name, objectClass, data) in objects)
        {
            Assert.That(await GetAsync(reader, objectClass, name), Is.EqualTo(data), name);
        }

        foreach (var objectClass in ObjectClasses)
        {
            Assert.That((await ListAsync(reader, objectClass)).Select(o => o.Name), Is.EquivalentTo(objects.Where(o => o.Class == objectClass).Select(o => o.Name)));
        }
    }

    [Test]
    public async Task A_100_MiB_object_streams_in_and_out_without_being_held_in_memory()
    {
        var (writer, reader) = await OpenCreatedAsync();
        const ulong seed = 42;
        var expectedHash = await PseudoRandomStream.Sha256Async(LargeObjectSize, seed);
        // Anything that buffers the object allocates at least its size; streaming allocates a few buffers.
        // The bound is loose (a quarter of the object) because the count is process-wide.
        const long allocationBound = LargeObjectSize / 4;

        var beforePut = GC.GetTotalAllocatedBytes(precise: true);
        await using (var content = new PseudoRandomStream(LargeObjectSize, seed))
        {
            await writer.PutAsync(StorageObjectClass.Packfile, Name(200), content);
        }

        var putAllocated = GC.GetTotalAllocatedBytes(precise: true) - beforePut;

        var beforeGet = GC.GetTotalAllocatedBytes(precise: true);
        string actualHash;
        await using (var stream = await reader.GetAsync(StorageObjectClass.Packfile, Name(200)))
        {
            actualHash = await StreamHash.Sha256Async(stream);
        }

        var getAllocated = GC.GetTotalAllocatedBytes(precise: true) - beforeGet;

        Assert.That(actualHash, Is.EqualTo(expectedHash), "the object reads back intact");
        Assert.That(await ListAsync(reader, StorageObjectClass.Packfile), Is.EqualTo(new[] { new StorageObject(Name(200), LargeObjectSize) }));
        Assert.That(putAllocated, Is.LessThan(allocationBound), $"put allocated {putAllocated} bytes for a {LargeObjectSize}-byte object");
        Assert.That(getAllocated, Is.LessThan(allocationBound), $"get allocated {getAllocated} bytes for a {LargeObjectSize}-byte object");
    }

    [Test]
    public async Task A_failed_put_leaves_no_object()
    {
        var (writer, reader) = await OpenCreatedAsync();
        await using var failing = new FailingStream(new PseudoRandomStream(1_000_000, 9), failAfter: 400_000);

        Assert.ThrowsAsync<IOException>(() => writer.PutAsync(StorageObjectClass.Packfile, Name(300), failing));

        Assert.That(await ListAsync(reader, StorageObjectClass.Packfile), Is.Empty, "a put either stores the whole object or nothing");
        Assert.ThrowsAsync<NotFoundException>(() => reader.GetAsync(StorageObjectClass.Packfile, Name(300)));
    }

    [Test]
    public async Task A_cancelled_put_leaves_no_object()
    {
        var (writer, reader) = await OpenCreatedAsync();
        using var cancellation = new CancellationTokenSource();
        await using var content = new CancellingStream(new PseudoRandomStream(4_000_000, 10), cancelAfter: 1_000_000, cancellation);

        Assert.ThrowsAsync(Is.InstanceOf<OperationCanceledException>(), () => writer.PutAsync(StorageObjectClass.Packfile, Name(500), content, cancellation.Token));

        Assert.That(await ListAsync(reader, StorageObjectClass.Packfile), Is.Empty, "a cancelled put stores nothing");
    }

    [Test]
    public async Task A_read_only_connector_refuses_every_write()
    {
        var (writer, _) = await OpenCreatedAsync();
        await PutAsync(writer, StorageObjectClass.Snapshot, Name(400), [7, 7, 7]);
        var readOnly = await OpenAsync(readOnly: true);

        Assert.That(readOnly.Mode, Is.EqualTo(StorageMode.ReadOnly));
        Assert.ThrowsAsync<ReadOnlyException>(() => readOnly.CreateAsync("other"u8.ToArray()));
        Assert.ThrowsAsync<ReadOnlyException>(() => PutAsync(readOnly, StorageObjectClass.Snapshot, Name(401), [1]));
        Assert.ThrowsAsync<ReadOnlyException>(() => PutAsync(readOnly, StorageObjectClass.Snapshot, Name(400), [1]));
        Assert.ThrowsAsync<ReadOnlyException>(() => readOnly.DeleteAsync(StorageObjectClass.Snapshot, Name(400)));

        Assert.That(await ListAsync(readOnly, StorageObjectClass.Snapshot), Is.EqualTo(new[] { new StorageObject(Name(400), 3) }), "nothing changed");
        Assert.That(await GetAsync(readOnly, StorageObjectClass.Snapshot, Name(400)), Is.EqualTo(new byte[] { 7, 7, 7 }));
    }
}
