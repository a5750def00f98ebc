using Coffer.Abstractions;

namespace Coffer.Packager.Tests;

public class PackageManifestTests
{
    private static readonly PackageManifest Valid = new()
    {
        Name = "demo",
        Version = "1.0.0",
        Abi = "1.0",
        Os = "any",
        Arch = "any",
        Entry = "Demo.dll",
        Connectors = [new ConnectorManifest(ConnectorKind.Storage, "demo", "a demo", [new ConnectorOption("key", "the key", Required: true, Secret: true)])],
        Files = [new FileManifest("Demo.dll", 3, new string('a', 64)), new FileManifest("lib/x.dll", 1, new string('b', 64))],
    };

    [Test]
    public void A_valid_manifest_round_trips_through_json_with_lower_case_kinds()
    {
        var json = Valid.ToJson();
        var parsed = PackageManifest.Parse(json);

        Assert.That(System.Text.Encoding.UTF8.GetString(json), Does.Contain("\"kind\": \"storage\"").And.Contain("\"sha256\""));
        Assert.That(parsed.ToJson(), Is.EqualTo(json));
        Assert.DoesNotThrow(() => parsed.Validate("demo"));
    }

    [Test]
    public void Kinds_are_read_in_any_case()
    {
        var json = System.Text.Encoding.UTF8.GetString(Valid.ToJson()).Replace("\"storage\"", "\"Storage\"");

        Assert.That(PackageManifest.Parse(System.Text.Encoding.UTF8.GetBytes(json)).Connectors[0].Kind, Is.EqualTo(ConnectorKind.Storage));
    }

    [Test]
    public void Unknown_members_are_skipped_and_every_field_is_read()
    {
        var full = Valid with
        {
            Description = "d",
            License = "MIT",
            Homepage = "https://example.org",
            Connectors = [new ConnectorManifest(ConnectorKind.Volume, "demo", "v", [new ConnectorOption("region", "where", DefaultValue: "eu")])],
        };
        var json = System.Text.Encoding.UTF8.GetString(full.ToJson())
            .Replace("\"name\": \"demo\"", "\"future\": {\"nested\": [1, {\"a\": null}]}, \"name\": \"demo\"", StringComparison.Ordinal);

        var parsed = PackageManifest.Parse(System.Text.Encoding.UTF8.GetBytes(json));

        Assert.That(parsed.ToJson(), Is.EqualTo(full.ToJson()));
    }

    private static IEnumerable<TestCaseData> Malformed()
    {
        var json = System.Text.Encoding.UTF8.GetString(Valid.ToJson());
        yield return new TestCaseData("null").SetName("Null");
        yield return new TestCaseData("[]").SetName("Array");
        yield return new TestCaseData(json.Replace("\"name\": \"demo\",", "", StringComparison.Ordinal)).SetName("NoName");
        yield return new TestCaseData(json.Replace("\"storage\"", "2", StringComparison.Ordinal)).SetName("NumericKind");
        yield return new TestCaseData(json.Replace("\"storage\"", "\"2\"", StringComparison.Ordinal)).SetName("NumericTextKind");
        yield return new TestCaseData(json.Replace("\"storage\"", "\"source,storage\"", StringComparison.Ordinal)).SetName("ListedKinds");
        yield return new TestCaseData(json.Replace("\"size\": 3", "\"size\": \"3\"", StringComparison.Ordinal)).SetName("TextSize");
        yield return new TestCaseData(json.Replace("\"size\": 3", "\"size\": 3.5", StringComparison.Ordinal)).SetName("FractionalSize");
        yield return new TestCaseData(json.Replace("\"sha256\": \"" + new string('a', 64) + "\"", "\"sha\": \"x\"", StringComparison.Ordinal)).SetName("NoSha256");
        yield return new TestCaseData(json + " {}").SetName("TrailingValue");
        yield return new TestCaseData(json[..^10]).SetName("Truncated");
    }

    [Test]
    public void Invalid_utf8_in_a_string_is_a_json_error()
    {
        var json = Valid.ToJson();
        var at = System.Text.Encoding.UTF8.GetString(json).IndexOf("a demo", StringComparison.Ordinal);
        json[at] = 0xCD;

        Assert.That(() => PackageManifest.Parse(json), Throws.InstanceOf<System.Text.Json.JsonException>());
    }

    [TestCaseSource(nameof(Malformed))]
    public void A_malformed_manifest_is_a_json_error(string json)
    {
        Assert.That(() => PackageManifest.Parse(System.Text.Encoding.UTF8.GetBytes(json)), Throws.InstanceOf<System.Text.Json.JsonException>());
    }

    private static IEnumerable<TestCaseData> Invalid()
    {
        yield return new TestCaseData(Valid with { Format = 2 }, "manifest format 2 is not supported");
        yield return new TestCaseData(Valid with { Name = "a_b" }, "invalid package name 'a_b'");
        yield return new TestCaseData(Valid with { Name = "demo-" }, "invalid package name");
        yield return new TestCaseData(Valid with { Version = "v1.0.0" }, "invalid version 'v1.0.0'");
        yield return new TestCaseData(Valid with { Abi = "1.0.0" }, "invalid abi");
        yield return new TestCaseData(Valid with { Os = "Linux" }, "invalid os/arch");
        yield return new TestCaseData(Valid with { Entry = "Missing.dll" }, "entry 'Missing.dll' that is not a listed .dll");
        yield return new TestCaseData(Valid with { Entry = "lib" }, "entry 'lib'");
        yield return new TestCaseData(Valid with { Connectors = [] }, "no connectors");
        yield return new TestCaseData(Valid with { Connectors = [.. Valid.Connectors, .. Valid.Connectors] }, "the storage connector 'demo' listed twice");
        yield return new TestCaseData(Valid with { Connectors = [Valid.Connectors[0] with { Scheme = "Bad Scheme" }] }, "invalid kind or scheme");
        yield return new TestCaseData(Valid with { Files = [.. Valid.Files, Valid.Files[0] with { Path = "demo.DLL" }] }, "file 'demo.DLL' listed twice");
        yield return new TestCaseData(Valid with { Files = [.. Valid.Files, new FileManifest("manifest.json", 1, new string('c', 64))] }, "'manifest.json' listed twice");
        yield return new TestCaseData(Valid with { Files = [.. Valid.Files, new FileManifest("Demo.dll/inner", 1, new string('c', 64))] }, "inside 'Demo.dll', which is a file");
        yield return new TestCaseData(Valid with { Files = [Valid.Files[0] with { Sha256 = "ABC" }] }, "valid size and lower-case hex sha256");
        yield return new TestCaseData(Valid with { Files = [Valid.Files[0] with { Size = -1 }] }, "valid size");
        yield return new TestCaseData(Valid with { Files = [.. Valid.Files, new FileManifest("./x", 1, new string('c', 64))] }, "an empty or '.' component");
    }

    [TestCaseSource(nameof(Invalid))]
    public void An_invalid_manifest_is_one_clear_line(PackageManifest manifest, string expected)
    {
        var error = Assert.Throws<PackageException>(() => manifest.Validate("demo_v1.0.0_any_any.ptar"));

        Assert.That(error!.Message, Does.StartWith("demo_v1.0.0_any_any.ptar: ").And.Contain(expected));
        Assert.That(error.Message, Does.Not.Contain("\n"));
    }
}
