using System.Diagnostics;
using System.Text.Json;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests;

/// <summary>
/// File names are bytes: names and a symlink target that are not UTF-8, and a path over PATH_MAX, through
/// backup, ls, find, diff and restore as a user types them, compared with a raw listing (Python's byte paths).
/// </summary>
public class RawNameTests
{
    [Test]
    public async Task Names_that_are_not_utf8_and_a_path_over_path_max_round_trip_byte_exactly_and_show_escaped_on_one_line()
    {
        using var temp = new TemporaryDirectory("raw-names");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "plain.txt"), "plain");
        var before = LifecycleCli.SnapshotId(await coffer.RunAsync("at", store, "backup", source));
        RawTree.Create(source);

        var backup = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(backup.ExitCode, Is.Zero, backup.ToString());
        var id = LifecycleCli.SnapshotId(backup);

        var ls = await coffer.RunAsync("at", store, "ls", id, "-r");
        Assert.That(ls.ExitCode, Is.Zero, ls.ToString());
        Assert.That(ls.Output, Does.Contain("  \"f\\xffo\"\n").And.Contain("  \"lone\\x80\"\n").And.Contain("  \"over\\xc0\\xaf/cut\\xe2\\x82\"\n"), ls.ToString());
        Assert.That(ls.Output, Does.Contain("  \"over\\xc0\\xaf/link\\xff\" -> \"../t\\xc0\\xafrget\\x80\"\n"), ls.ToString());
        Assert.That(ls.Output, Does.Contain("/deep\\xff.txt\"\n"), ls.ToString());
        Assert.That(ls.Output, Does.Not.Contain("\uFFFD"), "no byte is replaced");

        var find = await coffer.RunAsync("at", store, "find", "deep*");
        Assert.That(find.Output.TrimEnd().Split('\n'), Has.One.EndsWith("/deep\\xff.txt\""), find.ToString());
        var diff = await coffer.RunAsync("at", store, "diff", before, id);
        Assert.That(diff.Output, Does.Contain("\"f\\xffo\"\n").And.Contain("over\\xc0\\xaf/link\\xff\"\n"), diff.ToString());
        Assert.That(diff.Output.Split('\n').Where(l => l.Contains("xffo", StringComparison.Ordinal)), Has.One.StartsWith("+ "), diff.ToString());

        // --json: the strings show U+FFFD for each byte that is not UTF-8, and the bytes are beside them in base64.
        var lsJson = Documents(await coffer.RunAsync("--json", "at", store, "ls", id, "-r"));
        Assert.That(lsJson.Select(e => Raw(e, "name_raw")), Is.SupersetOf(new[] { "66ff6f", "6c6f6e6580", "6f766572c0af", "637574e282", "6c696e6bff", "64656570ff2e747874" }));
        Assert.That(lsJson.Select(e => Raw(e, "target_raw")), Has.One.EqualTo("2e2e2f74c0af7267657480"));
        Assert.That(lsJson.Select(e => Raw(e, "path_raw")), Has.One.EndsWith("6f766572c0af2f6c696e6bff").And.One.EndsWith("64656570ff2e747874"));
        Assert.That(lsJson.Where(e => e.GetProperty("path").GetString()!.Contains('\uFFFD', StringComparison.Ordinal)), Has.All.Matches<JsonElement>(e => e.TryGetProperty("path_raw", out _)));
        Assert.That(lsJson.Where(e => e.GetProperty("name").GetString() == "plain.txt").Single().TryGetProperty("name_raw", out _), Is.False, "only names that are not UTF-8 carry bytes");
        var findJson = Documents(await coffer.RunAsync("--json", "at", store, "find", "deep*")).Single().GetProperty("node");
        Assert.That((Raw(findJson, "name_raw"), Raw(findJson, "path_raw")), Is.EqualTo(("64656570ff2e747874", RawTree.DeepPathHex)), "the whole deep path's bytes");
        var diffJson = Documents(await coffer.RunAsync("--json", "at", store, "diff", before, id));
        Assert.That(diffJson.Select(e => Raw(e, "path_raw")), Has.Some.EndsWith("66ff6f").And.Some.EndsWith("6c696e6bff"));

        // dump as tar: tar -x recreates every name and the link's target byte for byte (but the path over PATH_MAX,
        // which tar cannot open: Python's tarfile reads its bytes instead).
        var tar = temp.Combine("raw.tar");
        var dump = await coffer.RunAsync("at", store, "dump", id, "-o", tar);
        Assert.That(dump.ExitCode, Is.Zero, dump.ToString());
        var extracted = temp.Combine("extracted");
        Directory.CreateDirectory(extracted);
        var untar = new ProcessStartInfo("tar") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in new[] { "-x", "-p", "-f", tar, "-C", extracted, "--exclude=00*" })
        {
            untar.ArgumentList.Add(arg);
        }

        var untarred = await CofferProcess.RunAsync(untar, "tar -x", TimeSpan.FromMinutes(1));
        Assert.That(untarred.ExitCode, Is.Zero, untarred.ToString());
        var shallow = RawTree.Listing(source).Split('\n').Where(line => !line.StartsWith("3030", StringComparison.Ordinal));
        Assert.That(RawTree.Listing(extracted).Split('\n'), Is.EqualTo(shallow));
        Assert.That(RawTree.TarListing(tar).Split('\n'), Has.One.EqualTo(RawTree.DeepPathHex).And.One.EqualTo("66ff6f"));

        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", store, "restore", id, "-to", restored);
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        Assert.That(RawTree.Listing(restored), Is.EqualTo(RawTree.Listing(source)));

        var check = await coffer.RunAsync("at", store, "check");
        Assert.That(check.ExitCode, Is.Zero, check.ToString());
    }

    private static List<JsonElement> Documents(CofferResult result)
    {
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return [.. result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement)];
    }

    // A _raw field's bytes in lower-case hex, null when absent.
    private static string? Raw(JsonElement element, string field) =>
        element.TryGetProperty(field, out var raw) ? Convert.ToHexStringLower(Convert.FromBase64String(raw.GetString()!)) : null;
}
