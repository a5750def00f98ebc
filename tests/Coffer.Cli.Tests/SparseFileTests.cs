using System.Text.Json;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

/// <summary>Sparse files through the command line: backup reads the data alone, restore, check, diff and sync keep the holes.</summary>
public class SparseFileTests
{
    [Test]
    public async Task A_file_with_holes_is_backed_up_without_reading_them_and_restored_check_diffed_and_synced_with_its_holes()
    {
        using var temp = new TemporaryDirectory("cli-sparse");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        SparseFiles.WriteSample(source);
        var image = Path.Combine(source, "holes.img");

        var backup = await coffer.RunAsync("at", store, "backup", source, "--json");
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());
        string first;
        using (var summary = JsonDocument.Parse(backup.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]))
        {
            first = summary.RootElement.GetProperty("snapshot_id").GetString()!;
            Assert.That(summary.RootElement.GetProperty("bytes_read").GetInt64(), Is.InRange(SparseFiles.SampleDataBytes, SparseFiles.SampleDataBytes + (64 << 10)), "the holes are not read");
            Assert.That(summary.RootElement.GetProperty("total_bytes_processed").GetInt64(), Is.EqualTo(SparseFiles.SampleLength + (2 << 20)));
        }

        // The same data moved to other offsets: the same chunks, other extents, which diff sees as a content change.
        File.Delete(image);
        SparseFiles.Write(image, SparseFiles.SampleLength, SparseFiles.SampleRuns.Select(r => (r.Offset + (1 << 20), r.Length)), seed: 17);
        var moved = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(moved.Output, Does.Contain("(1 files unchanged), 384.0 KiB read,"), moved.ToString());
        var diff = await coffer.RunAsync("at", store, "diff", first[..8], LifecycleCli.SnapshotId(moved));
        Assert.That(diff.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "M holes.img (content, mtime)" }), diff.ToString());

        // check reads every file back by default: the whole content, holes as zeros, against its SHA-256.
        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());

        // Restored from the store and from a copy that sync cut again: the same content, the holes still holes.
        var copy = temp.Combine("copy");
        Assert.That((await coffer.RunAsync("at", copy, "create", "--plaintext")).ExitCode, Is.Zero);
        var sync = await coffer.RunAsync("at", store, "sync", "--to", copy);
        Assert.That(sync.ExitCode, Is.Zero, sync.ToString());
        foreach (var (from, target) in new[] { (store, temp.Combine("restored")), (copy, temp.Combine("from-copy")) })
        {
            var restore = await coffer.RunAsync("at", from, "restore", "latest", "-to", target);
            Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
            foreach (var name in new[] { "holes.img", "all-hole.img" })
            {
                var restored = Path.Combine(target, name);
                Assert.That(SparseFiles.Sha256(restored), Is.EqualTo(SparseFiles.Sha256(Path.Combine(source, name))), restored);
                Assert.That(SparseFiles.AllocatedBytes(restored), Is.LessThanOrEqualTo(SparseFiles.AllocatedBytes(Path.Combine(source, name))), $"{restored}: holes stay holes");
            }
        }
    }
}
