using Coffer.Keep;
using Coffer.TestSupport;

namespace Coffer.Keep.Tests;

public class KeepstoreFlagParserTests
{
    // A syntactically valid base64 key; the parser checks the file's shape, not the key.
    private const string Key = "t3wfMAZ4/YBso7Jr5dtaR7gdrSJmdqzIv1iLofr/2xkZLqLwjj3iwV1YNYbjPUhewXYpp6KxmJUH9L3cfLALtw==";

    private TemporaryDirectory _directory = null!;
    private List<string> _warnings = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = new TemporaryDirectory("keepflags");
        _warnings = [];
    }

    [TearDown]
    public void TearDown() => _directory.Dispose();

    private string KeyFile(string name, string content = Key + "\n", UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = _directory.Combine(name);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private KeepstoreOptions Parse(params string[] args) => KeepstoreFlagParser.Parse(args, _warnings.Add);

    [Test]
    public void The_seed_migration_example_makes_the_disks_read_only_and_the_container_writable()
    {
        var key = KeyFile("exampleaccountname.key");

        var options = Parse(
            "-readonly",
            "-volume", "/data/disk0", "-volume", "/data/disk1",
            "-readonly=false",
            "-azure-storage-account-key-file", key,
            "-azure-storage-account-name", "exampleaccountname",
            "-azure-storage-container-volume", "examplecontainername");

        Assert.That(options.Volumes.Select(v => (v.Location, v.ReadOnly)), Is.EqualTo(new[]
        {
            ("/data/disk0", true),
            ("/data/disk1", true),
            ("azblob://examplecontainername", false),
        }));
        var container = options.Volumes[2];
        Assert.That(container.Options["account_name"], Is.EqualTo("exampleaccountname"));
        Assert.That(container.Options["account_key_file"], Is.EqualTo(key));
        Assert.That(container.Options["replication"], Is.EqualTo("3"));
        Assert.That(container.Options.Values, Has.None.Contains(Key), "the key itself never travels in options");
        Assert.That(_warnings, Is.Empty);
    }

    [Test]
    public void The_seed_multi_account_example_gives_each_container_the_account_named_before_it()
    {
        var first = KeyFile("firstaccount.key");
        var second = KeyFile("secondaccount.key");

        var options = Parse(
            "-readonly", "-volume", "/data/disk0", "-volume", "/data/disk1", "-readonly=false",
            "-azure-storage-account-key-file", first, "-azure-storage-account-name", "firstaccount",
            "-azure-storage-container-volume", "containerA", "-azure-storage-container-volume", "containerB", "-azure-storage-container-volume", "containerC",
            "-azure-storage-account-key-file", second, "-azure-storage-account-name", "secondaccount",
            "-azure-storage-container-volume", "containerX", "-azure-storage-container-volume", "containerY", "-azure-storage-container-volume", "containerZ");

        var containers = options.Volumes.Where(v => v.Location.StartsWith("azblob://", StringComparison.Ordinal)).ToList();
        Assert.That(containers.Select(c => (c.Location, c.Options["account_name"], c.Options["account_key_file"])), Is.EqualTo(new[]
        {
            ("azblob://containerA", "firstaccount", first),
            ("azblob://containerB", "firstaccount", first),
            ("azblob://containerC", "firstaccount", first),
            ("azblob://containerX", "secondaccount", second),
            ("azblob://containerY", "secondaccount", second),
            ("azblob://containerZ", "secondaccount", second),
        }));
        Assert.That(containers.Select(c => c.ReadOnly), Is.All.False);
    }

    [Test]
    public void A_container_before_any_account_is_one_clear_error()
    {
        var error = Assert.Throws<KeepConfigurationException>(() => Parse("-volume", "/data/disk0", "-azure-storage-container-volume", "containerA"));

        Assert.That(error!.Message, Is.EqualTo(
            "-azure-storage-container-volume containerA comes before its account: give -azure-storage-account-name NAME and -azure-storage-account-key-file FILE first"));
    }

    [Test]
    public void A_container_after_only_the_account_name_is_refused_too()
    {
        Assert.Throws<KeepConfigurationException>(() => Parse("-azure-storage-account-name", "a", "-azure-storage-container-volume", "c"));
    }

    [Test]
    public void Flags_take_values_after_an_equals_sign_or_as_the_next_argument_with_one_or_two_dashes()
    {
        var options = Parse("--volume=/a", "-volume", "/b", "--listen", "127.0.0.1:9", "-max-buffers=4", "--never-delete=false", "-enforce-permissions", "-permission-key-file=/k");

        Assert.That(options.Volumes.Select(v => v.Location), Is.EqualTo(new[] { "/a", "/b" }));
        Assert.That(options.Listen, Is.EqualTo("127.0.0.1:9"));
        Assert.That(options.MaxBuffers, Is.EqualTo(4));
        Assert.That(options.EffectiveMaxRequests, Is.EqualTo(8), "max-requests defaults to twice max-buffers");
        Assert.That(options.NeverDelete, Is.False);
        Assert.That(options.EnforcePermissions, Is.True);
    }

    [Test]
    public void Defaults_are_keepstores()
    {
        var options = Parse("-volume", "/a");

        Assert.That(options.Listen, Is.EqualTo(":25107"));
        Assert.That(options.NeverDelete, Is.True);
        Assert.That(options.BlobSignatureTtl, Is.EqualTo(TimeSpan.FromDays(14)));
        Assert.That(options.TrashCheckInterval, Is.EqualTo(TimeSpan.FromHours(24)));
        Assert.That(options.TrashLifetime, Is.EqualTo(TimeSpan.Zero));
        Assert.That(options.MaxBuffers, Is.EqualTo(128));
        Assert.That(options.Volumes[0].ReadOnly, Is.False);
    }

    [Test]
    public void Serialize_applies_to_the_volumes_after_it_only()
    {
        var options = Parse("-volume", "/a", "-serialize", "-volume", "/b", "-serialize=false", "-volume", "/c");

        Assert.That(options.Volumes.Select(v => v.Serialize), Is.EqualTo(new[] { false, true, false }));
    }

    [TestCase("-blob-signature-ttl", "336h", 336 * 3600)]
    [TestCase("-blob-signature-ttl", "1209600", 1209600)]
    [TestCase("-permission-ttl", "90m", 5400)]
    [TestCase("-trash-lifetime", "1h30m", 5400)]
    [TestCase("-trash-check-interval", "2.5s", 2.5)]
    public void Durations_are_go_durations_or_seconds(string flag, string value, double seconds)
    {
        var options = Parse("-volume", "/a", flag, value);

        var actual = flag switch
        {
            "-trash-lifetime" => options.TrashLifetime,
            "-trash-check-interval" => options.TrashCheckInterval,
            _ => options.BlobSignatureTtl,
        };
        Assert.That(actual, Is.EqualTo(TimeSpan.FromSeconds(seconds)));
    }

    [TestCase(new[] { "-volume", "/a", "-frobnicate" }, "unknown flag -frobnicate (see 'coffer keepstore -help')")]
    [TestCase(new[] { "-volume" }, "flag -volume needs a value: -volume DIR")]
    [TestCase(new[] { "-volume", "/a", "stray" }, "keepstore takes only flags, not 'stray': flags start with '-' (see 'coffer keepstore -help')")]
    [TestCase(new[] { "-readonly=perhaps", "-volume", "/a" }, "-readonly takes true or false, not 'perhaps': write -readonly=false")]
    [TestCase(new[] { "-volume", "/a", "-trash-lifetime", "soon" }, "-trash-lifetime takes a duration such as 336h, 90m or 30s (or a number of seconds), not 'soon'")]
    [TestCase(new[] { "-volume", "/a", "-max-buffers", "0" }, "-max-buffers takes a whole number of at least 1, not '0'")]
    [TestCase(new string[0], "no volumes: name at least one with -volume DIR or -azure-storage-container-volume NAME")]
    [TestCase(new[] { "-volume", "/a", "-enforce-permissions" }, "-enforce-permissions needs a key to check signatures with: add -permission-key-file FILE")]
    public void Bad_command_lines_are_one_clear_line(string[] args, string message)
    {
        var error = Assert.Throws<KeepConfigurationException>(() => Parse(args));

        Assert.That(error!.Message, Is.EqualTo(message));
    }

    [Test]
    public void A_key_file_with_a_trailing_crlf_or_no_newline_is_accepted()
    {
        Assert.DoesNotThrow(() => Parse("-azure-storage-account-name", "a", "-azure-storage-account-key-file", KeyFile("crlf.key", Key + "\r\n"), "-azure-storage-container-volume", "c"));
        Assert.DoesNotThrow(() => Parse("-azure-storage-account-name", "a", "-azure-storage-account-key-file", KeyFile("bare.key", Key), "-azure-storage-container-volume", "c"));
    }

    [TestCase(Key + "\n\n", "holds more than the key")]
    [TestCase(" " + Key + "\n", "holds more than the key")]
    [TestCase(Key + "\nsecond line\n", "holds more than the key")]
    [TestCase("\n", "is empty")]
    [TestCase("not*base64!\n", "does not hold a base64 storage account key")]
    public void A_key_file_holding_anything_but_the_key_and_a_newline_is_refused_without_showing_it(string content, string problem)
    {
        var path = KeyFile("bad.key", content);

        var error = Assert.Throws<KeepConfigurationException>(() => Parse("-azure-storage-account-name", "a", "-azure-storage-account-key-file", path));

        Assert.That(error!.Message, Does.Contain(problem).And.Contain(path));
        Assert.That(error.Message, Does.Not.Contain(Key).And.Not.Contain("second line"));
    }

    [Test]
    public void A_key_file_open_to_others_is_used_with_a_warning()
    {
        var path = KeyFile("open.key", mode: UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var options = Parse("-azure-storage-account-name", "a", "-azure-storage-account-key-file", path, "-azure-storage-container-volume", "c");

        Assert.That(options.Volumes, Has.Count.EqualTo(1));
        Assert.That(_warnings, Is.EqualTo(new[] { $"warning: the account key file {path} is open to group or others: chmod 600 {path}" }));
    }

    [Test]
    public void The_endpoint_and_replication_apply_to_the_containers_named_after_them()
    {
        var key = KeyFile("k.key");

        var options = Parse(
            "-azure-storage-account-name", "a", "-azure-storage-account-key-file", key,
            "-azure-storage-container-volume", "c1",
            "-azure-storage-endpoint", "http://127.0.0.1:10000/a", "-azure-storage-replication", "2",
            "-azure-storage-container-volume", "c2");

        Assert.That(options.Volumes[0].Options.ContainsKey("endpoint"), Is.False);
        Assert.That(options.Volumes[0].Options["replication"], Is.EqualTo("3"));
        Assert.That(options.Volumes[1].Options["endpoint"], Is.EqualTo("http://127.0.0.1:10000/a"));
        Assert.That(options.Volumes[1].Options["replication"], Is.EqualTo("2"));
    }

    [Test]
    public void A_directory_that_looks_like_a_location_still_means_the_directory()
    {
        var options = Parse("-volume", "azblob://not-a-container");

        Assert.That(options.Volumes[0].Location, Is.EqualTo("fs://azblob://not-a-container"));
    }
}
