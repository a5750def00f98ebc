using System.Collections.Concurrent;
using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Coffer.Abstractions;
using Coffer.TestSupport;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>What only the Azure source and destination do: blob properties carried from one container to another.</summary>
[TestFixture]
public sealed class AzBlobSourceDestinationTests
{
    private AzuriteServer _server = null!;
    private BlobContainerClient _from = null!;
    private BlobContainerClient _to = null!;

    [SetUp]
    public async Task SetUpAsync()
    {
        _server = await AzBlobHarness.ServerAsync();
        _from = await _server.CreateContainerAsync("from");
        _to = _server.CreateServiceClient().GetBlobContainerClient($"to-{Guid.NewGuid():N}");
    }

    [TearDown]
    public async Task TearDownAsync()
    {
        await _from.DeleteIfExistsAsync();
        await _to.DeleteIfExistsAsync();
    }

    private async Task UploadAsync(string name, string content, string contentType, Dictionary<string, string> metadata, AccessTier? tier = null, string? language = null) =>
        await _from.GetBlobClient(name).UploadAsync(BinaryData.FromString(content), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = contentType, ContentLanguage = language },
            Metadata = metadata,
            AccessTier = tier,
        });

    [Test]
    public async Task Blob_metadata_content_type_and_tier_survive_a_source_to_destination_round_trip()
    {
        await UploadAsync("site/index.html", "<h1>hi</h1>", "text/html; charset=utf-8", new() { ["author"] = "alice", ["Revision"] = "42" }, AccessTier.Cool, "en");
        await UploadAsync("site/img/logo.svg", "<svg/>", "image/svg+xml", new() { ["license"] = "cc-by" });
        await UploadAsync("data.json", "{}", "application/json", []);

        // A backup reads the source; a restore writes the destination (a container that does not exist yet).
        await using (var source = await AzBlobHarness.Catalog.CreateSourceAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_from))))
        await using (var destination = await AzBlobHarness.Catalog.CreateDestinationAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_to, "restored"))))
        {
            var entries = await AzBlobHarness.ToListAsync(source.ScanAsync());
            Assert.That(entries.Select(e => (e.Path, e.Kind)), Is.EqualTo(new[]
            {
                ("", EntryKind.Directory), ("data.json", EntryKind.File), ("site", EntryKind.Directory),
                ("site/img", EntryKind.Directory), ("site/img/logo.svg", EntryKind.File), ("site/index.html", EntryKind.File),
            }));
            var index = entries.Single(e => e.Path == "site/index.html");
            Assert.That(index.ContentType, Is.EqualTo("text/html; charset=utf-8"));
            Assert.That(index.Size, Is.EqualTo(11));
            Assert.That(index.Metadata, Does.ContainKey("author").WithValue("alice"));
            Assert.That(index.Metadata, Does.ContainKey("azure.tier").WithValue("Cool"));
            Assert.That(index.FileId, Is.Not.Null.And.Not.Empty, "the ETag tells a replaced blob from an unchanged one");

            foreach (var entry in entries)
            {
                if (entry.Kind == EntryKind.Directory)
                {
                    await destination.CreateDirectoryAsync(entry);
                    continue;
                }

                await using var content = await source.OpenReadAsync(entry.Path);
                await destination.WriteFileAsync(entry, content);
            }
        }

        foreach (var blob in new[] { "site/index.html", "site/img/logo.svg", "data.json" })
        {
            var original = (await _from.GetBlobClient(blob).GetPropertiesAsync()).Value;
            var restored = (await _to.GetBlobClient("restored/" + blob).GetPropertiesAsync()).Value;
            Assert.That(restored.ContentType, Is.EqualTo(original.ContentType), blob);
            Assert.That(restored.ContentLanguage, Is.EqualTo(original.ContentLanguage), blob);
            Assert.That(restored.AccessTier, Is.EqualTo(original.AccessTier), blob);
            foreach (var (key, value) in original.Metadata)
            {
                Assert.That(restored.Metadata, Does.ContainKey(key).WithValue(value), blob);
            }

            Assert.That(restored.Metadata.Keys.Where(k => !k.StartsWith("coffer_", StringComparison.Ordinal)), Is.EquivalentTo(original.Metadata.Keys), blob);
            Assert.That((await _to.GetBlobClient("restored/" + blob).DownloadContentAsync()).Value.Content.ToString(),
                Is.EqualTo((await _from.GetBlobClient(blob).DownloadContentAsync()).Value.Content.ToString()), blob);
        }
    }

    [Test]
    public async Task Blob_names_that_cannot_be_paths_are_reported_and_the_scan_goes_on()
    {
        // (Folder markers, blobs named "dir/", cannot be made on Azurite: it drops the trailing slash.)
        await _from.GetBlobClient("dir//double").UploadAsync(BinaryData.FromString("x"));
        await _from.GetBlobClient("ok.txt").UploadAsync(BinaryData.FromString("fine"));
        await using var source = await AzBlobHarness.Catalog.CreateSourceAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_from)));

        var entries = await AzBlobHarness.ToListAsync(source.ScanAsync());

        Assert.That(entries.Where(e => e.Error is null).Select(e => (e.Path, e.Kind)), Is.EquivalentTo(new[]
        {
            ("", EntryKind.Directory), ("ok.txt", EntryKind.File),
        }));
        var bad = entries.Single(e => e.Error is not null);
        Assert.That(bad.Error, Does.Contain("dir//double"));
    }

    [Test]
    public async Task A_link_is_a_small_blob_marked_as_a_link_and_reads_back_as_one()
    {
        await using (var destination = await AzBlobHarness.Catalog.CreateDestinationAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_from))))
        {
            await destination.CreateSymlinkAsync(new TreeEntry("docs/latest", EntryKind.Symlink) { SymlinkTarget = "v2/résumé.pdf" });
        }

        var properties = (await _from.GetBlobClient("docs/latest").GetPropertiesAsync()).Value;
        Assert.That(properties.ContentType, Is.EqualTo("inode/symlink"));
        Assert.That(properties.Metadata, Does.ContainKey("coffer_symlink"));
        Assert.That((await _from.GetBlobClient("docs/latest").DownloadContentAsync()).Value.Content.ToArray(), Is.EqualTo(Encoding.UTF8.GetBytes("v2/résumé.pdf")));

        await using var source = await AzBlobHarness.Catalog.CreateSourceAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_from)));
        var link = (await AzBlobHarness.ToListAsync(source.ScanAsync())).Single(e => e.Path == "docs/latest");
        Assert.That(link.Kind, Is.EqualTo(EntryKind.Symlink));
        Assert.That(link.SymlinkTarget, Is.EqualTo("v2/résumé.pdf"));
        Assert.That(link.Metadata, Does.Not.ContainKey("coffer_symlink"));
    }

    [Test]
    public async Task Backslashes_cannot_smuggle_a_parent_segment_and_colons_are_ordinary()
    {
        await using var destination = await AzBlobHarness.Catalog.CreateDestinationAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_to, "inside")));

        // Azure turns '\\' into '/' in blob names.
        Assert.ThrowsAsync<PathEscapesRootException>(() => destination.WriteFileAsync(new TreeEntry("a\\..\\..\\x", EntryKind.File), new MemoryStream([1])));
        Assert.ThrowsAsync<PathEscapesRootException>(() => destination.WriteFileAsync(new TreeEntry("C:\\x", EntryKind.File), new MemoryStream([1])));
        await destination.WriteFileAsync(new TreeEntry("a:b.txt", EntryKind.File) { Size = 1 }, new MemoryStream([1]));

        var names = new List<string>();
        await foreach (var blob in _to.GetBlobsAsync())
        {
            names.Add(blob.Name);
        }

        Assert.That(names, Is.EqualTo(new[] { "inside/a:b.txt" }));
    }

    [Test]
    public async Task Metadata_azure_cannot_hold_is_skipped_and_the_file_still_restored()
    {
        await using (var destination = await AzBlobHarness.Catalog.CreateDestinationAsync(AzBlobHarness.Configuration(_server, AzBlobHarness.Location(_to))))
        {
            var entry = new TreeEntry("f.txt", EntryKind.File)
            {
                Size = 2,
                Metadata = new Dictionary<string, string> { ["xattr.user.comment"] = "dotted names are not Azure names", ["note"] = "naïve", ["kept"] = "yes" },
            };
            await destination.WriteFileAsync(entry, new MemoryStream([1, 2]));
        }

        var properties = (await _to.GetBlobClient("f.txt").GetPropertiesAsync()).Value;
        Assert.That(properties.Metadata, Does.ContainKey("kept").WithValue("yes"));
        Assert.That(properties.Metadata.Keys, Has.None.EqualTo("xattr.user.comment").And.None.EqualTo("note"));
    }
    [Test]
    public async Task Reads_that_follow_the_scan_get_small_blobs_fetched_ahead_once_each_and_skipping_reads_fetch_nothing_ahead()
    {
        var names = Enumerable.Range(0, 48).Select(i => $"d/f{i:D2}").ToList();
        await Task.WhenAll(names.Select(n => _from.GetBlobClient(n).UploadAsync(BinaryData.FromString($"content of {n}"))));
        // One byte over the largest blob the source fetches ahead (SourceReadAhead.MaxBlobSize, 256 KiB).
        var large = new byte[(256 * 1024) + 1];
        new Random(5).NextBytes(large);
        await _from.GetBlobClient("d/large").UploadAsync(BinaryData.FromBytes(large));

        await using var proxy = FaultProxy.Start(_server.Port);
        var gets = new ConcurrentQueue<string>();
        proxy.Decide = request =>
        {
            if (request.Method == "GET" && !request.Target.Contains("comp=list", StringComparison.Ordinal))
            {
                gets.Enqueue(Uri.UnescapeDataString(request.Target.Split('?')[0]).Split($"/{_from.Name}/")[1]);
            }

            return null;
        };
        var configuration = new ConnectorConfiguration(AzBlobHarness.Location(_from), new Dictionary<string, string>
        {
            ["account_name"] = AzuriteServer.AccountName,
            ["account_key"] = AzuriteServer.AccountKey,
            ["endpoint"] = proxy.EndpointOf(AzuriteServer.AccountName).ToString(),
        });
        await using var source = await AzBlobHarness.Catalog.CreateSourceAsync(configuration);

        // A backup's two readers, in scan order; one blob deleted after the scan reads as missing, as without read-ahead.
        var files = (await AzBlobHarness.ToListAsync(source.ScanAsync())).Where(e => e.Kind == EntryKind.File).Select(e => e.Path).ToList();
        Assert.That(files, Is.EqualTo(names.Append("d/large")));
        await _from.GetBlobClient("d/f30").DeleteAsync();
        var queue = new ConcurrentQueue<string>(files);
        var read = new ConcurrentDictionary<string, byte[]>();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (queue.TryDequeue(out var path))
            {
                try
                {
                    await using var stream = await source.OpenReadAsync(path);
                    using var copy = new MemoryStream();
                    await stream.CopyToAsync(copy);
                    read[path] = copy.ToArray();
                }
                catch (NotFoundException e)
                {
                    Assert.That(e.Message, Does.Contain("'d/f30' is not in"));
                    read[path] = [];
                }
            }
        })));

        Assert.That(read.Keys, Is.EquivalentTo(files));
        Assert.Multiple(() =>
        {
            foreach (var name in names.Where(n => n != "d/f30"))
            {
                Assert.That(Encoding.UTF8.GetString(read[name]), Is.EqualTo($"content of {name}"), name);
            }

            Assert.That(read["d/large"], Is.EqualTo(large), "a blob too large to fetch ahead is streamed");
            Assert.That(read["d/f30"], Is.Empty, "the deleted blob failed its read");
        });
        var perBlob = gets.GroupBy(g => g).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(perBlob.Where(p => p.Key != "d/f30" && p.Value != 1), Is.Empty, "every blob is downloaded once, fetched ahead or not");
        Assert.That(perBlob["d/f30"], Is.EqualTo(2), "the failed fetch, then the read that reports it");

        // A re-backup reads only changed files, far apart in the scan: nothing is fetched for the files between.
        gets.Clear();
        await AzBlobHarness.ToListAsync(source.ScanAsync());
        foreach (var path in new[] { "d/f10", "d/f20", "d/f35", "d/f45" })
        {
            await using var stream = await source.OpenReadAsync(path);
            await stream.CopyToAsync(Stream.Null);
        }

        Assert.That(gets.Order(), Is.EqualTo(new[] { "d/f10", "d/f20", "d/f35", "d/f45" }));
    }
}
