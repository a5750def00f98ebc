using Coffer.Abstractions;
using Coffer.Conformance;
using Coffer.TestSupport;

namespace Coffer.Plugins.Posix.Tests;

// The directories are disposed in DeleteBackendAsync, which the base fixture calls from its [TearDown].
#pragma warning disable NUnit1032

[TestFixture(VolumeVariant.Normal)]
[TestFixture(VolumeVariant.ReadOnly)]
[TestFixture(VolumeVariant.Serialized)]
public class PosixVolumeConformanceTests(VolumeVariant variant) : VolumeConformanceTests(variant)
{
    private TemporaryDirectory? _directory;

    private string Root => _directory!.Path;

    // The clock only moves in whole seconds and ext4/tmpfs keep nanoseconds: mtimes must match exactly.
    protected override TimeSpan MtimePrecision => TimeSpan.FromTicks(1);

    protected override Task CreateBackendAsync()
    {
        _directory = new TemporaryDirectory("volume");
        return Task.CompletedTask;
    }

    protected override Task DeleteBackendAsync()
    {
        _directory?.Dispose();
        return Task.CompletedTask;
    }

    protected override async Task<IVolume> CreateVolumeAsync(VolumeSettings settings, ConnectorContext context) =>
        await PosixPluginHost.Catalog.CreateVolumeAsync(new ConnectorConfiguration(Root, context: context), settings);

    protected override Task OverwriteStoredBlockAsync(string hash, ReadOnlyMemory<byte> content) =>
        File.WriteAllBytesAsync(Path.Combine(Root, hash[..3], hash), content.ToArray());
}

[TestFixture(StorageVariant.Normal)]
[TestFixture(StorageVariant.ReadOnly)]
public class PosixStorageConformanceTests(StorageVariant variant) : StorageConformanceTests(variant)
{
    private TemporaryDirectory? _directory;

    protected override Task CreateBackendAsync()
    {
        _directory = new TemporaryDirectory("store");
        return Task.CompletedTask;
    }

    protected override Task DeleteBackendAsync()
    {
        _directory?.Dispose();
        return Task.CompletedTask;
    }

    protected override async Task<IStorageConnector> CreateStorageAsync(bool openReadOnly, ConnectorContext context)
    {
        // A store that does not exist yet lives in a directory that does not exist yet.
        var options = openReadOnly ? new Dictionary<string, string> { ["read_only"] = "true" } : null;
        return await PosixPluginHost.Catalog.CreateStorageAsync(new ConnectorConfiguration(_directory!.Combine("store"), options, context));
    }
}

public class PosixSourceDestinationConformanceTests : SourceDestinationConformanceTests
{
    private TemporaryDirectory? _sandbox;

    private string Root => _sandbox!.Combine("root");

    protected override TimeSpan MtimePrecision => TimeSpan.FromTicks(1);

    protected override Task CreateBackendAsync()
    {
        _sandbox = new TemporaryDirectory("tree");
        Directory.CreateDirectory(Root);
        return Task.CompletedTask;
    }

    protected override Task DeleteBackendAsync()
    {
        _sandbox?.Dispose();
        return Task.CompletedTask;
    }

    protected override async Task<IDestinationConnector> CreateDestinationAsync(ConnectorContext context) =>
        await PosixPluginHost.Catalog.CreateDestinationAsync(new ConnectorConfiguration(Root, context: context));

    protected override async Task<ISourceConnector> CreateSourceAsync(ConnectorContext context) =>
        await PosixPluginHost.Catalog.CreateSourceAsync(new ConnectorConfiguration(Root, context: context));

    protected override Task<IReadOnlyList<string>> ListOutsideRootAsync()
    {
        // Walked by hand: links are listed, never followed (the tests plant links pointing back up).
        var outside = new List<string>();
        void Walk(DirectoryInfo directory)
        {
            foreach (var info in directory.EnumerateFileSystemInfos())
            {
                var relative = Path.GetRelativePath(_sandbox!.Path, info.FullName);
                if (relative == "root")
                {
                    continue;
                }

                outside.Add(relative);
                if (info is DirectoryInfo child && child.LinkTarget is null)
                {
                    Walk(child);
                }
            }
        }

        Walk(new DirectoryInfo(_sandbox!.Path));
        return Task.FromResult<IReadOnlyList<string>>(outside);
    }
}
