using System.Text.Json;
using Coffer.Cli;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Output;

/// <summary>
/// <c>--json</c>, <c>--quiet</c> and colour-free output through the real binary (docs/json.md): each command's
/// documents parsed and checked against what the store and the source tree really hold. One store, built once.
/// </summary>
public class JsonOutputTests
{
    private TemporaryDirectory _temp = null!;
    private CofferProcess _coffer = null!;
    private string _store = "";
    private string _source = "";

    [OneTimeSetUp]
    public async Task CreateStore()
    {
        _temp = new TemporaryDirectory("json-output");
        _coffer = CofferCli.WithPosix(_temp);
        _coffer.Environment["COFFER_PASSPHRASE"] = "json output test passphrase";
        SecretLeaks.Register("the json test passphrase", "json output test passphrase");
        _store = _temp.Combine("store");
        Ok(await _coffer.RunAsync("at", _store, "create"));
        _source = _temp.Combine("source");
        Directory.CreateDirectory(Path.Combine(_source, "sub"));
        File.WriteAllText(Path.Combine(_source, "a.txt"), "alpha\n");
        File.WriteAllText(Path.Combine(_source, "sub", "b.txt"), "bravo bravo\n");
        File.CreateSymbolicLink(Path.Combine(_source, "link"), "a.txt");
    }

    [OneTimeTearDown]
    public void RemoveStore() => _temp.Dispose();

    [Test]
    public async Task Every_command_prints_json_documents_that_match_the_store_and_the_tree()
    {
        // backup: status lines, then one summary whose counts are the tree's.
        var first = Lines(Ok(await _coffer.RunAsync("at", _store, "backup", _source, "--json")));
        Assert.That(first[0].GetProperty("message_type").GetString(), Is.EqualTo("status"));
        Assert.That(first.Count(l => l.GetProperty("message_type").GetString() == "status"), Is.GreaterThanOrEqualTo(2));
        var summary1 = first[^1];
        Assert.That(summary1.GetProperty("message_type").GetString(), Is.EqualTo("summary"));
        var id1 = summary1.GetProperty("snapshot_id").GetString()!;
        Assert.That(id1, Does.Match("^[0-9a-f]{64}$"));
        Assert.That(summary1.GetProperty("total_files_processed").GetInt64(), Is.EqualTo(2));
        Assert.That(summary1.GetProperty("total_bytes_processed").GetInt64(), Is.EqualTo(6 + 12));
        Assert.That(summary1.GetProperty("symlinks").GetInt64(), Is.EqualTo(1));
        Assert.That(summary1.GetProperty("data_added").GetInt64(), Is.GreaterThan(0));
        Assert.That(summary1.GetProperty("unreadable").GetArrayLength(), Is.Zero);
        Assert.That(first[^2].GetProperty("files_done").GetInt64(), Is.EqualTo(2), "the last status line is the finished work");

        File.WriteAllText(Path.Combine(_source, "added.txt"), "charlie\n");
        var second = Lines(Ok(await _coffer.RunAsync("at", _store, "backup", _source, "--json")))[^1];
        var id2 = second.GetProperty("snapshot_id").GetString()!;
        Assert.That(second.GetProperty("files_unmodified").GetInt64(), Is.EqualTo(2));
        Assert.That(second.GetProperty("total_files_processed").GetInt64(), Is.EqualTo(3));

        // A dry run: the same summary, no snapshot id, and the files it would read.
        File.WriteAllText(Path.Combine(_source, "dry.txt"), "delta\n");
        var dry = Lines(Ok(await _coffer.RunAsync("at", _store, "backup", _source, "--dry-run", "--json")))[^1];
        File.Delete(Path.Combine(_source, "dry.txt"));
        Assert.That((dry.GetProperty("dry_run").GetBoolean(), dry.GetProperty("snapshot_id").ValueKind, dry.GetProperty("files_unmodified").GetInt64()), Is.EqualTo((true, JsonValueKind.Null, 3L)));
        Assert.That(dry.GetProperty("would_read").EnumerateArray().Select(p => p.GetString()), Is.EqualTo(new[] { "dry.txt" }));
        Assert.That(second.GetProperty("dry_run").GetBoolean(), Is.False);

        var snapshots = Single(Ok(await _coffer.RunAsync("at", _store, "ls", "--json")));
        Assert.That(snapshots.EnumerateArray().Select(s => s.GetProperty("id").GetString()), Is.EqualTo(new[] { id1, id2 }));
        var listed = snapshots[1];
        Assert.That(listed.GetProperty("short_id").GetString(), Is.EqualTo(id2[..8]));
        Assert.That(listed.GetProperty("source").GetString(), Is.EqualTo(_source));
        Assert.That(listed.GetProperty("hostname").GetString(), Is.EqualTo(Environment.MachineName));
        Assert.That(listed.GetProperty("summary").GetProperty("files").GetInt64(), Is.EqualTo(3));
        Assert.That(listed.GetProperty("damaged").GetBoolean(), Is.False);

        var tree = Lines(Ok(await _coffer.RunAsync("at", _store, "ls", id2, "-r", "--json")));
        Assert.That(tree.Select(n => n.GetProperty("path").GetString()), Is.EquivalentTo(new[] { "a.txt", "added.txt", "link", "sub", "sub/b.txt" }));
        var link = tree.Single(n => n.GetProperty("path").GetString() == "link");
        Assert.That((link.GetProperty("type").GetString(), link.GetProperty("target").GetString()), Is.EqualTo(("symlink", "a.txt")));
        Assert.That(tree.Single(n => n.GetProperty("path").GetString() == "sub/b.txt").GetProperty("size").GetInt64(), Is.EqualTo(12));

        var info = Single(Ok(await _coffer.RunAsync("at", _store, "info", "--json")));
        Assert.That(info.GetProperty("snapshots").GetInt32(), Is.EqualTo(2));
        Assert.That(info.GetProperty("encryption").GetString(), Is.EqualTo("aes-256-gcm"));
        Assert.That((info.GetProperty("data_blobs").GetInt32(), info.GetProperty("total_size").GetInt64()), Is.EqualTo((3, 18L + 26L)), "three distinct contents; both snapshots' sizes");
        Assert.That(info.GetProperty("packs").GetInt32(), Is.Positive);
        Assert.That(Single(Ok(await _coffer.RunAsync("at", _store, "info", id1[..8], "--json"))).GetProperty("id").GetString(), Is.EqualTo(id1));

        var checkLines = Lines(Ok(await _coffer.RunAsync("at", _store, "check", "--json")));
        Assert.That(checkLines.SkipLast(1).Select(l => (l.GetProperty("message_type").GetString(), l.GetProperty("action").GetString())).Distinct(), Is.EqualTo(new[] { ("status", "check") }));
        Assert.That(checkLines, Has.Count.GreaterThanOrEqualTo(3), "a status line when it starts and one when it ends");
        var check = checkLines[^1];
        Assert.That((check.GetProperty("ok").GetBoolean(), check.GetProperty("snapshots").GetInt32(), check.GetProperty("files_checked").GetInt64()), Is.EqualTo((true, 2, 5L)));

        var found = Single(Ok(await _coffer.RunAsync("at", _store, "find", "added.txt", "--json")));
        Assert.That((found.GetProperty("snapshot_id").GetString(), found.GetProperty("node").GetProperty("path").GetString(), found.GetProperty("node").GetProperty("size").GetInt64()), Is.EqualTo((id2, "added.txt", 8L)));

        var diff = Single(Ok(await _coffer.RunAsync("at", _store, "diff", id1, id2, "--json")));
        Assert.That((diff.GetProperty("modifier").GetString(), diff.GetProperty("path").GetString()), Is.EqualTo(("+", "added.txt")));

        var keys = Single(Ok(await _coffer.RunAsync("at", _store, "key", "list", "--json")));
        Assert.That((keys.GetArrayLength(), keys[0].GetProperty("current").GetBoolean()), Is.EqualTo((1, true)));

        var tagged = Single(Ok(await _coffer.RunAsync("at", _store, "tag", "--add", "nightly", id1, "--json")));
        Assert.That((tagged[0].GetProperty("changed").GetBoolean(), tagged[0].GetProperty("tags")[0].GetString()), Is.EqualTo((true, "nightly")));

        var removal = Single(Ok(await _coffer.RunAsync("at", _store, "rm", "--keep-last", "1", "--dry-run", "--json")));
        Assert.That(removal.GetProperty("dry_run").GetBoolean(), Is.True);
        Assert.That(removal.GetProperty("removed").EnumerateArray().Select(r => r.GetString()), Is.EqualTo(new[] { id1 }));
        Assert.That(removal.GetProperty("kept")[0].GetProperty("snapshot_id").GetString(), Is.EqualTo(id2));

        var restored = _temp.Combine("restored");
        var restore = Lines(Ok(await _coffer.RunAsync("at", _store, "restore", id2, "--to", restored, "--json")))[^1];
        Assert.That((restore.GetProperty("snapshot_id").GetString(), restore.GetProperty("files_restored").GetInt64(), restore.GetProperty("bytes_restored").GetInt64()), Is.EqualTo((id2, 3L, 26L)));
        Assert.That((restore.GetProperty("not_restored").GetArrayLength(), restore.GetProperty("not_backed_up").GetArrayLength()), Is.EqualTo((0, 0)));
        TreeAssert.AreEqual(_source, restored, compareRootMtime: false);

        var copy = _temp.Combine("copy");
        Ok(await _coffer.RunAsync("at", copy, "create", "--plaintext"));
        var synced = Lines(Ok(await _coffer.RunAsync("at", _store, "sync", "--to", copy, "--json")))[^1];
        Assert.That(synced.GetProperty("snapshots").EnumerateArray().Select(s => s.GetProperty("snapshot_id").GetString()), Is.EquivalentTo(new[] { id1, id2 }));
        var copies = Single(Ok(await _coffer.RunAsync("at", copy, "ls", "--json"))).EnumerateArray().Select(s => s.GetProperty("id").GetString());
        Assert.That(synced.GetProperty("snapshots").EnumerateArray().Select(s => s.GetProperty("copy_id").GetString()), Is.EquivalentTo(copies));

        var maintenanceLines = Lines(Ok(await _coffer.RunAsync("at", _store, "maintenance", "--json")));
        Assert.That(maintenanceLines.SkipLast(1).Select(l => l.GetProperty("action").GetString()).Distinct(), Is.EqualTo(new[] { "maintenance" }));
        var maintenance = maintenanceLines[^1];
        Assert.That((maintenance.GetProperty("message_type").GetString(), maintenance.GetProperty("snapshots").GetInt32(), maintenance.GetProperty("dry_run").GetBoolean()), Is.EqualTo(("summary", 2, false)));

        Assert.That(Result(await _coffer.RunAsync("store", "add", "mine", _store, "--json")), Is.EqualTo(("store add", "mine")));
        var stores = Single(Ok(await _coffer.RunAsync("store", "list", "--json")));
        Assert.That((stores[0].GetProperty("name").GetString(), stores[0].GetProperty("location").GetString()), Is.EqualTo(("mine", _store)));
        Assert.That(Single(Ok(await _coffer.RunAsync("store", "show", "mine", "--json"))).GetProperty("location").GetString(), Is.EqualTo(_store));
        Assert.That(Result(await _coffer.RunAsync("store", "set", "mine", "read_only=true", "--json")), Is.EqualTo(("store set", "mine")));
        Assert.That(Result(await _coffer.RunAsync("store", "unset", "mine", "read_only", "--json")), Is.EqualTo(("store unset", "mine")));
        Assert.That(Result(await _coffer.RunAsync("store", "rm", "mine", "--json")), Is.EqualTo(("store rm", "mine")));

        // The key and repair commands: one small result each (after the listings above, which count one key).
        var newPassphrase = _temp.Combine("new-passphrase");
        File.WriteAllText(newPassphrase, "a second json test passphrase\n");
        SecretLeaks.Register("the json test's second passphrase", "a second json test passphrase");
        var added = Single(Ok(await _coffer.RunAsync("at", _store, "key", "add", "--new-passphrase-file", newPassphrase, "--json")));
        Assert.That((added.GetProperty("command").GetString(), added.GetProperty("removed").ValueKind), Is.EqualTo(("key add", JsonValueKind.Null)));
        var addedId = added.GetProperty("added").GetString()!;
        var removedKey = Single(Ok(await _coffer.RunAsync("at", _store, "key", "remove", addedId[..12], "--json")));
        Assert.That((removedKey.GetProperty("command").GetString(), removedKey.GetProperty("removed").GetString()), Is.EqualTo(("key remove", addedId)));
        Assert.That(Single(Ok(await _coffer.RunAsync("at", _store, "unlock", "--json"))).GetProperty("removed").GetArrayLength(), Is.Zero);
        var index = Single(Ok(await _coffer.RunAsync("at", _store, "repair", "index", "--dry-run", "--json")));
        Assert.That((index.GetProperty("dry_run").GetBoolean(), index.GetProperty("written").GetArrayLength(), index.GetProperty("missing_packs").GetArrayLength()), Is.EqualTo((true, 0, 0)));
        Assert.That(index.GetProperty("packs_listed").GetInt32(), Is.EqualTo(info.GetProperty("packs").GetInt32()));
        var repaired = Single(Ok(await _coffer.RunAsync("at", _store, "repair", "snapshots", "--json")));
        Assert.That((repaired.GetProperty("dry_run").GetBoolean(), repaired.GetProperty("removed").GetArrayLength(), repaired.GetProperty("salvaged").GetArrayLength()), Is.EqualTo((false, 0, 0)));

        var connectors = Single(Ok(await _coffer.RunAsync("connectors", "--json")));
        Assert.That(connectors.EnumerateArray().Where(c => c.GetProperty("package").GetString() == "posix").Select(c => c.GetProperty("kind").GetString()),
            Is.SupersetOf(new[] { "storage", "source", "destination" }));
        // pkg list's JSON predates --json lines: one indented array.
        Assert.That(JsonDocument.Parse(Ok(await _coffer.RunAsync("pkg", "list", "--json")).Output).RootElement.GetArrayLength(), Is.EqualTo(1));
        var package = Single(Ok(await _coffer.RunAsync("pkg", "show", "posix", "--json")));
        Assert.That((package.GetProperty("name").GetString(), package.GetProperty("connectors").GetArrayLength()), Is.EqualTo(("posix", connectors.EnumerateArray().Count(c => c.GetProperty("package").GetString() == "posix"))));
        Assert.That(package.TryGetProperty("signed_by", out _), Is.True);
    }

    [Test]
    public async Task Errors_are_one_json_object_quiet_prints_nothing_and_no_output_has_colour_escapes()
    {
        var missing = await _coffer.RunAsync("at", _store, "ls", "0123abcd", "--json");
        Assert.That((missing.ExitCode, missing.Output), Is.EqualTo((ExitCodes.Failure, "")), missing.ToString());
        var error = Single(new CofferResult(0, missing.Error, ""));
        Assert.That((error.GetProperty("message_type").GetString(), error.GetProperty("code").GetInt32()), Is.EqualTo(("error", ExitCodes.Failure)));
        Assert.That(error.GetProperty("message").GetString(), Does.Contain("0123abcd"));

        var usage = await _coffer.RunAsync("no-such-command", "--json");
        Assert.That(usage.ExitCode, Is.EqualTo(ExitCodes.Usage), usage.ToString());
        Assert.That(Single(new CofferResult(0, usage.Error, "")).GetProperty("code").GetInt32(), Is.EqualTo(ExitCodes.Usage));

        var source = _temp.Combine("quiet-source");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "q.txt"), "quiet\n");
        // A store of its own: the other test counts the snapshots of the shared one.
        var store = _temp.Combine("quiet-store");
        var created = await _coffer.RunAsync("--quiet", "at", store, "create", "--plaintext");
        Assert.That((created.ExitCode, created.Output), Is.EqualTo((0, "")), created.ToString());
        var quiet = await _coffer.RunAsync("--quiet", "at", store, "backup", source);
        Assert.That((quiet.ExitCode, quiet.Output, quiet.Error), Is.EqualTo((0, "", "")), quiet.ToString());
        var quietLs = await _coffer.RunAsync("at", store, "ls", "-q");
        Assert.That((quietLs.ExitCode, quietLs.Output), Is.EqualTo((0, "")), quietLs.ToString());
        var quietFailure = await _coffer.RunAsync("at", _store, "ls", "0123abcd", "--quiet");
        CofferCli.AssertOneLineFailure(quietFailure, "0123abcd");

        // --verbose: a line per new or modified file (unchanged ones only counted), a line per file restored; not with --quiet or --json.
        File.WriteAllText(Path.Combine(source, "q.txt"), "quiet, changed\n");
        File.WriteAllText(Path.Combine(source, "new.txt"), "new\n");
        File.WriteAllText(Path.Combine(source, "same.txt"), "same\n");
        var verbose = Ok(await _coffer.RunAsync("-v", "at", store, "backup", source));
        Assert.That(verbose.Output, Does.Contain("modified \"q.txt\"\n").And.Contain("new      \"new.txt\"\n").And.Contain("new      \"same.txt\"\n"), verbose.ToString());
        File.WriteAllText(Path.Combine(source, "new.txt"), "newer\n");
        var again = Ok(await _coffer.RunAsync("at", store, "backup", source, "--verbose"));
        var fileLines = again.Output.Split('\n').Where(l => l.StartsWith('n') || l.StartsWith('m')).ToList();
        Assert.That(fileLines, Is.EqualTo(new[] { "modified \"new.txt\"" }), again.ToString());
        var restoredVerbose = Ok(await _coffer.RunAsync("at", store, "restore", "--to", _temp.Combine("verbose-restore"), "-v"));
        Assert.That(restoredVerbose.Output.Split('\n').Where(l => l.StartsWith("restored ", StringComparison.Ordinal) && l.Contains('"', StringComparison.Ordinal)),
            Is.EquivalentTo(new[] { "restored \"q.txt\"", "restored \"new.txt\"", "restored \"same.txt\"" }), restoredVerbose.ToString());
        foreach (var contradiction in new[] { new[] { "-v", "at", store, "ls", "--quiet" }, ["at", store, "ls", "--verbose", "--json"] })
        {
            var refused = await _coffer.RunAsync(contradiction);
            Assert.That(refused.ExitCode, Is.EqualTo(ExitCodes.Usage), refused.ToString());
            Assert.That(refused.Error, Does.Contain("--verbose"), refused.ToString());
        }

        _coffer.Environment["NO_COLOR"] = "1";
        try
        {
            foreach (var args in new[] { new[] { "pkg", "list" }, ["connectors"], ["at", store, "ls"], ["at", store, "backup", source] })
            {
                var plain = Ok(await _coffer.RunAsync(args));
                Assert.That(plain.Output + plain.Error, Does.Not.Contain("\u001b["), plain.ToString());
            }
        }
        finally
        {
            _coffer.Environment.Remove("NO_COLOR");
        }
    }

    [Test]
    public async Task An_incomplete_backup_lists_its_unreadable_entries_in_both_forms_and_exits_3()
    {
        using var temp = new TemporaryDirectory("json-unreadable");
        var (coffer, store) = await CofferCli.WithPlaintextStoreAsync(temp);
        var source = temp.Combine("source");
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "fine.txt"), "fine\n");

        // A file mode 000, read by a coffer without the capabilities that let root read it anyway (as DamageTests does).
        File.WriteAllText(Path.Combine(source, "bad name"), "x");
        File.SetUnixFileMode(Path.Combine(source, "bad name"), UnixFileMode.None);
        coffer.WithoutReadOverride = true;

        var human = await coffer.RunAsync("at", store, "backup", source);
        Assert.That(human.ExitCode, Is.EqualTo(ExitCodes.Incomplete), human.ToString());
        Assert.That(human.Output, Does.Contain("is incomplete: 1 entries could not be read:").And.Contain("  \"bad name\""), human.ToString());

        var json = await coffer.RunAsync("at", store, "backup", source, "--json");
        Assert.That(json.ExitCode, Is.EqualTo(ExitCodes.Incomplete), json.ToString());
        var summary = Lines(json)[^1];
        Assert.That(summary.GetProperty("unreadable").EnumerateArray().Select(u => u.GetString()), Has.One.Contains("bad name"));
    }

    private static CofferResult Ok(CofferResult result)
    {
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return result;
    }

    // Every line of stdout is a JSON document of its own.
    private static List<JsonElement> Lines(CofferResult result) =>
        result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();

    // A command's small JSON result: its command and name.
    private static (string?, string?) Result(CofferResult result)
    {
        var document = Single(Ok(result));
        return (document.GetProperty("command").GetString(), document.GetProperty("name").GetString());
    }

    private static JsonElement Single(CofferResult result)
    {
        var lines = Lines(result);
        Assert.That(lines, Has.Count.EqualTo(1), result.ToString());
        return lines[0];
    }
}
