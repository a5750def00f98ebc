using Coffer.Abstractions;
using Coffer.Conformance;

namespace Coffer.Plugins.Posix.Tests;

[TestFixture(VolumeVariant.Normal)]
[TestFixture(VolumeVariant.ReadOnly)]
[TestFixture(VolumeVariant.Serialized)]
public class PosixVolumeConformanceTests(VolumeVariant variant) : VolumeConformanceTests(variant)
{
    private readonly PerTestDirectory _root = new("volume");

    // The clock only moves in whole seconds and ext4/tmpfs keep nanoseconds: mtimes must match exactly.
    protected override TimeSpan MtimePrecision => TimeSpan.FromTicks(1);

    protected override Task CreateBackendAsync() => _root.CreateAsync();

    protected override Task DeleteBackendAsync() => _root.DeleteAsync();

    protected override async Task<IVolume> CreateVolumeAsync(VolumeSettings settings, ConnectorContext context) =>
        await PosixPluginHost.Catalog.CreateVolumeAsync(new ConnectorConfiguration(_root.Path, context: context), settings);

    protected override Task OverwriteStoredBlockAsync(string hash, ReadOnlyMemory<byte> content) =>
        File.WriteAllBytesAsync(_root.Combine(hash[..3], hash), content.ToArray());
}

[TestFixture(StorageVariant.Normal)]
[TestFixture(StorageVariant.ReadOnly)]
public class PosixStorageConformanceTests(StorageVariant variant) : StorageConformanceTests(variant)
{
    private readonly PerTestDirectory _directory = new("store");

    protected override Task CreateBackendAsync() => _directory.CreateAsync();

    protected override Task DeleteBackendAsync() => _directory.DeleteAsync();

    protected override async Task<IStorageConnector> CreateStorageAsync(bool openReadOnly, ConnectorContext context)
    {
        // A store that does not exist yet lives in a directory that does not exist yet.
        var options = openReadOnly ? new Dictionary<string, string> { ["read_only"] = "true" } : null;
        return await PosixPluginHost.Catalog.CreateStorageAsync(new ConnectorConfiguration(_directory.Combine("store"), options, context));
    }
}

public class PosixSourceDestinationConformanceTests : SourceDestinationConformanceTests
{
    private readonly PerTestDirectory _sandbox = new("tree");

    private string Root => _sandbox.Combine("root");

    protected override TimeSpan MtimePrecision => TimeSpan.FromTicks(1);

    // One text and one binary attribute (a NUL and a 0xFF byte are not text): both must round-trip.
    protected override IReadOnlyDictionary<string, string> SampleMetadata { get; } = new Dictionary<string, string>
    {
        ["xattr.user.coffer.note"] = "kept ☕",
        ["xattr.user.coffer.raw"] = "base64:AAEC/w==",
    };

    protected override async Task CreateBackendAsync()
    {
        await _sandbox.CreateAsync();
        Directory.CreateDirectory(Root);
    }

    protected override Task DeleteBackendAsync() => _sandbox.DeleteAsync();

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
                var relative = Path.GetRelativePath(_sandbox.Path, info.FullName);
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

        Walk(new DirectoryInfo(_sandbox.Path));
        return Task.FromResult<IReadOnlyList<string>>(outside);
    }
}
