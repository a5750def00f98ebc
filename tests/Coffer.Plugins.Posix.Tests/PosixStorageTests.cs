using Coffer.Abstractions;
using Coffer.TestSupport;

namespace Coffer.Plugins.Posix.Tests;

/// <summary>The store's layout on disk, which the docs promise.</summary>
public class PosixStorageTests
{
    [Test]
    public async Task A_store_is_CONFIG_plus_sharded_packfiles_and_index_and_flat_snapshots_and_locks()
    {
        using var directory = new TemporaryDirectory("posix-store");
        var root = directory.Combine("store");
        await using var storage = await PosixPluginHost.Catalog.CreateStorageAsync(new ConnectorConfiguration($"fs://{root}"));
        await storage.CreateAsync("config"u8.ToArray());

        await storage.PutAsync(StorageObjectClass.Packfile, "abcdef", new MemoryStream([1]));
        await storage.PutAsync(StorageObjectClass.Index, "0123", new MemoryStream([2]));
        await storage.PutAsync(StorageObjectClass.Snapshot, "snap1", new MemoryStream([3]));
        await storage.PutAsync(StorageObjectClass.Lock, "lock1", new MemoryStream([4]));

        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal);
        Assert.That(files, Is.EqualTo(new[] { "CONFIG", "index/01/0123", "locks/lock1", "packfiles/ab/abcdef", "snapshots/snap1" }), "no temp file is left behind");
        Assert.That(await File.ReadAllBytesAsync(Path.Combine(root, "CONFIG")), Is.EqualTo("config"u8.ToArray()));
    }

    [Test]
    public void An_unknown_option_is_refused_naming_it()
    {
        using var directory = new TemporaryDirectory("posix-store");

        var error = Assert.ThrowsAsync<ConnectorConfigurationException>(async () =>
            await PosixPluginHost.Catalog.CreateStorageAsync(new ConnectorConfiguration(directory.Path, new Dictionary<string, string> { ["readonly"] = "1" })));

        Assert.That(error!.Message, Does.Contain("'readonly'").And.Contain("read_only"));
    }
}

/// <summary>What the package registers, as the host sees it.</summary>
public class PosixPackageTests
{
    [Test]
    public void The_package_provides_the_four_fs_connectors_with_described_options()
    {
        var connectors = PosixPluginHost.Catalog.Connectors.Where(c => c.Package == "posix").ToList();

        Assert.That(connectors.Select(c => c.Descriptor.Kind), Is.EquivalentTo(Enum.GetValues<ConnectorKind>()));
        Assert.That(connectors.Select(c => c.Descriptor.Scheme), Is.All.EqualTo("fs"));
        Assert.That(connectors.Select(c => c.Descriptor.Description), Is.All.Not.Empty);
        Assert.That(connectors.SelectMany(c => c.Descriptor.Options).Select(o => o.Description), Is.All.Not.Empty);
    }
}
