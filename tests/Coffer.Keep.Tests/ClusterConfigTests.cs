using Coffer.Keep;
using Coffer.Keep.Configuration;

namespace Coffer.Keep.Tests;

/// <summary>Reading Arvados' cluster config file (<c>coffer keepstore -config</c>) into the server's options.</summary>
public class ClusterConfigTests
{
    // The structure of Arvados' documented examples (install-keepstore, configure-azure-blob-storage,
    // configure-fs-storage, config.default.yml), with made-up secrets.
    private const string Example = """
        Clusters:
          zzzzz:
            SystemRootToken: systemroottoken0123456789abcdefghijklmnopqrstuvwx
            ManagementToken: managementtoken0123456789abcdefghijklmnopqrstuvw
            Services:
              Keepstore:
                InternalURLs:
                  "http://keep0.zzzzz.example.com:25107": {}
                  "http://keep1.zzzzz.example.com:25107": {}
              Controller:
                ExternalURL: "https://zzzzz.example.com"
            API:
              MaxKeepBlobBuffers: 42
            Collections:
              BlobSigningKey: blobsigningkey0123456789abcdefghijklmnopqrstuvwxyz
              BlobSigningTTL: 72h
              BlobTrash: true
              BlobTrashLifetime: 48h
              BlobTrashCheckInterval: 1h30m
              BlobDeleteConcurrency: 4
              BlobReplicateConcurrency: 4
              TrustAllContent: false
            Containers:
              CloudVMs:
                Enable: true
            Volumes:
              zzzzz-nyw5e-000000000000000:
                AccessViaHosts:
                  "http://keep0.zzzzz.example.com:25107": {}
                Driver: Directory
                DriverParameters:
                  Root: /mnt/local-disk
                  Serialize: true
                StorageClasses:
                  fast: true
                  archive: false
              zzzzz-nyw5e-000000000000001:
                AccessViaHosts:
                  "http://keep1.zzzzz.example.com:25107": {}
                  "http://keep0.zzzzz.example.com:25107":
                    ReadOnly: true
                Driver: Directory
                DriverParameters:
                  Root: /mnt/other-disk
              zzzzz-nyw5e-000000000000002:
                Driver: Azure
                Replication: 3
                DriverParameters:
                  StorageAccountName: fakeaccountname
                  StorageAccountKey: fakeaccountkeyZmFrZQ==
                  StorageBaseURL: core.chinacloudapi.cn
                  ContainerName: fakecontainername
                  RequestTimeout: 30s
                  ListBlobsRetryDelay: 10s
                  ListBlobsMaxAttempts: 10
                  WriteRaceInterval: 15s
                  WriteRacePollTime: 1s
        """;

    private static (KeepstoreOptions Options, List<string> Warnings) Parse(string yaml, string? listen)
    {
        var warnings = new List<string>();
        return (ClusterConfigLoader.Parse(yaml, "test.yml", listen, warnings.Add), warnings);
    }

    private static string ErrorOf(string yaml, string? listen = "keep0.zzzzz.example.com:25107") =>
        Assert.Throws<KeepConfigurationException>(() => Parse(yaml, listen))!.Message;

    [Test]
    public void The_documented_example_gives_the_volumes_this_server_reaches_and_the_cluster_settings()
    {
        var (options, warnings) = Parse(Example, "keep0.zzzzz.example.com:25107");

        Assert.That(warnings, Is.Empty, "Containers, Services.Controller and known Collections keys are not warned about");
        Assert.That(options.FromClusterConfig, Is.True);
        Assert.That(options.Listen, Is.EqualTo("keep0.zzzzz.example.com:25107"));
        Assert.That(options.MaxBuffers, Is.EqualTo(42));
        Assert.That(options.BlobSignatureTtl, Is.EqualTo(TimeSpan.FromHours(72)));
        Assert.That(options.EnforcePermissions, Is.True, "BlobSigning defaults to true");
        Assert.That(options.NeverDelete, Is.False);
        Assert.That(options.TrashLifetime, Is.EqualTo(TimeSpan.FromHours(48)));
        Assert.That(options.TrashCheckInterval, Is.EqualTo(TimeSpan.FromMinutes(90)));
        Assert.That(options.BlobSigningKey, Is.EqualTo("blobsigningkey0123456789abcdefghijklmnopqrstuvwxyz"));
        Assert.That(options.SystemRootToken, Is.EqualTo("systemroottoken0123456789abcdefghijklmnopqrstuvwx"));
        Assert.That(options.ManagementToken, Is.EqualTo("managementtoken0123456789abcdefghijklmnopqrstuvw"));

        Assert.That(options.Volumes.Select(v => v.Uuid), Is.EqualTo(new[] { "zzzzz-nyw5e-000000000000000", "zzzzz-nyw5e-000000000000001", "zzzzz-nyw5e-000000000000002" }));
        var (local, other, azure) = (options.Volumes[0], options.Volumes[1], options.Volumes[2]);
        Assert.That((local.Location, local.Serialize, local.ReadOnly), Is.EqualTo(("/mnt/local-disk", true, false)));
        Assert.That(local.StorageClasses, Is.EqualTo(new[] { "fast" }), "a class mapped to false is not served");
        Assert.That(local.Replication, Is.EqualTo(1), "Arvados' default replication");
        Assert.That(other.ReadOnly, Is.True, "read-only through this server's AccessViaHosts entry");
        Assert.That(azure.Location, Is.EqualTo("azblob://fakecontainername"));
        Assert.That(azure.Options["account_name"], Is.EqualTo("fakeaccountname"));
        Assert.That(azure.Options["account_key"], Is.EqualTo("fakeaccountkeyZmFrZQ=="));
        Assert.That(azure.Options["endpoint"], Is.EqualTo("core.chinacloudapi.cn"));
        Assert.That(azure.Options["replication"], Is.EqualTo("3"));
        Assert.That(
            new[] { "request_timeout_ms", "list_retry_delay_ms", "list_attempts", "write_race_interval_ms", "write_race_poll_ms" }.Select(o => azure.Options[o]),
            Is.EqualTo(new[] { "30000", "10000", "10", "15000", "1000" }),
            "the Azure driver parameters become the azblob volume's options");
        Assert.That(azure.Replication, Is.EqualTo(3));
        Assert.That(azure.StorageClasses, Is.Empty, "none configured: the mount serves 'default'");
    }

    [Test]
    public void Access_via_hosts_picks_the_volumes_of_the_server_listen_names()
    {
        var (keep1, _) = Parse(Example, "keep1.zzzzz.example.com:25107");

        Assert.That(keep1.Volumes.Select(v => v.Uuid), Is.EqualTo(new[] { "zzzzz-nyw5e-000000000000001", "zzzzz-nyw5e-000000000000002" }));
        Assert.That(keep1.Volumes[0].ReadOnly, Is.False, "read-only only through keep0");
    }

    [Test]
    public void Unknown_keys_in_the_sections_read_are_one_warning_each()
    {
        var yaml = Example
            .Replace("      BlobTrash: true", "      BlobTrash: true\n      BlobSigningTTTL: 1h")
            .Replace("          Serialize: true", "          Serialize: true\n          Rooot: /typo")
            .Replace("    API:", "    Volumez: {}\n    API:");

        var (_, warnings) = Parse(yaml, "keep0.zzzzz.example.com:25107");

        Assert.That(warnings, Is.EquivalentTo(new[]
        {
            "warning: deprecated or unknown config entry: Clusters.zzzzz.Collections.BlobSigningTTTL",
            "warning: deprecated or unknown config entry: Clusters.zzzzz.Volumes.zzzzz-nyw5e-000000000000000.DriverParameters.Rooot",
            "warning: deprecated or unknown config entry: Clusters.zzzzz.Volumez",
        }));
    }

    [TestCase("BlobSigningTTL: 72h", "BlobSigningTTL: 72 hours", "Clusters.zzzzz.Collections.BlobSigningTTL: expected a duration such as 336h, 10s or 1h30m")]
    [TestCase("MaxKeepBlobBuffers: 42", "MaxKeepBlobBuffers: many", "Clusters.zzzzz.API.MaxKeepBlobBuffers: expected a whole number of at least 1")]
    [TestCase("Serialize: true", "Serialize: maybe", "Clusters.zzzzz.Volumes.zzzzz-nyw5e-000000000000000.DriverParameters.Serialize: expected true or false")]
    [TestCase("Root: /mnt/local-disk", "Root: relative/dir", "Clusters.zzzzz.Volumes.zzzzz-nyw5e-000000000000000.DriverParameters.Root: give the volume's directory as an absolute path")]
    [TestCase("ContainerName: fakecontainername", "ContainerName: \"\"", "Clusters.zzzzz.Volumes.zzzzz-nyw5e-000000000000002.DriverParameters.ContainerName: missing")]
    [TestCase("BlobSigningKey: blobsigningkey0123456789abcdefghijklmnopqrstuvwxyz", "BlobSigningKey: \"\"", "Clusters.zzzzz.Collections.BlobSigningKey: empty while Clusters.zzzzz.Collections.BlobSigning is true: set the cluster's signing key, or BlobSigning: false")]
    [TestCase("Replication: 3", "Replication: 0", "Clusters.zzzzz.Volumes.zzzzz-nyw5e-000000000000002.Replication: expected a whole number of at least 1")]
    public void A_wrong_value_is_one_line_naming_its_key_path_and_never_the_secrets(string good, string bad, string expected)
    {
        Assert.That(Example.Contains(good, StringComparison.Ordinal), Is.True, good);

        var message = ErrorOf(Example.Replace(good, bad));

        Assert.That(message, Is.EqualTo(expected));
        Assert.That(message, Does.Not.Contain("blobsigningkey0123").And.Not.Contain("fakeaccountkey").And.Not.Contain("systemroottoken0123"));
    }

    [TestCase("67108864", "67108864")]
    [TestCase("64MiB", "67108864")]
    [TestCase("1GB", "1000000000")]
    public void A_directory_volume_takes_min_free_as_a_size(string given, string bytes)
    {
        var (options, warnings) = Parse(Example.Replace("          Serialize: true", $"          Serialize: true\n          MinFree: {given}"), "keep0.zzzzz.example.com:25107");

        Assert.That(warnings, Is.Empty);
        Assert.That(options.Volumes[0].Options["min_free"], Is.EqualTo(bytes));
        Assert.That(ErrorOf(Example.Replace("          Serialize: true", "          Serialize: true\n          MinFree: lots")),
            Is.EqualTo("Clusters.zzzzz.Volumes.zzzzz-nyw5e-000000000000000.DriverParameters.MinFree: expected a size such as 67108864, 64MiB or 1GB"));
    }

    [Test]
    public void Which_server_this_is_must_be_clear()
    {
        Assert.That(ErrorOf(Example, listen: null), Is.EqualTo("Clusters.zzzzz.Services.Keepstore.InternalURLs: 2 servers: give -listen HOST:PORT to say which one this is"));
        Assert.That(ErrorOf(Example, listen: "keep9.zzzzz.example.com:25107"), Does.StartWith("-listen keep9.zzzzz.example.com:25107: not one of Clusters.zzzzz.Services.Keepstore.InternalURLs"));
        Assert.That(ErrorOf("Clusters: {a: {}, b: {}}"), Is.EqualTo("Clusters: expected exactly one cluster, found 2"));
        Assert.That(ErrorOf("Clusters:\n  zzzzz:\n    Volumes: [1, 2\n"), Does.StartWith("-config test.yml: not valid YAML at line"));

        // With one InternalURL and no -listen, that URL's address is listened on.
        var single = Example.Replace("          \"http://keep1.zzzzz.example.com:25107\": {}\n", "");
        Assert.That(Parse(single, null).Options.Listen, Is.EqualTo("keep0.zzzzz.example.com:25107"));
    }

    [Test]
    public void Another_driver_is_the_connector_scheme_of_its_name_with_its_parameters_as_options()
    {
        var yaml = Example.Replace("""
                  zzzzz-nyw5e-000000000000002:
                    Driver: Azure
            """, """
                  zzzzz-nyw5e-000000000000003:
                    Driver: S3
                    DriverParameters:
                      Bucket: blocks
                      UsePathStyle: true
                  zzzzz-nyw5e-000000000000002:
                    Driver: Azure
            """);

        var (options, _) = Parse(yaml, "keep0.zzzzz.example.com:25107");

        var s3 = options.Volumes.Single(v => v.Uuid == "zzzzz-nyw5e-000000000000003");
        Assert.That(s3.Location, Is.EqualTo("s3://zzzzz-nyw5e-000000000000003"));
        Assert.That(s3.Options, Is.EquivalentTo(new Dictionary<string, string> { ["bucket"] = "blocks", ["use_path_style"] = "true" }));
        Assert.That(s3.Flag, Is.EqualTo("Clusters.zzzzz.Volumes.zzzzz-nyw5e-000000000000003 (Driver: S3)"));
    }

    [Test]
    public void The_dialect_is_the_flags_unless_a_config_is_named_or_no_volume_flag_is_given()
    {
        var noFile = (string _) => false;
        var flags = KeepstoreArguments.Parse(["-volume", "/data", "-listen", ":1234"], "/nonexistent/config.yml", noFile, _ => { });
        Assert.That((flags.FromClusterConfig, flags.Listen, flags.Volumes.Single().Location), Is.EqualTo((false, ":1234", "/data")));

        Assert.That(Assert.Throws<KeepConfigurationException>(() => KeepstoreArguments.Parse(["-config", "/nonexistent/config.yml"], null, noFile, _ => { }))!.Message,
            Does.StartWith("-config /nonexistent/config.yml: cannot read it"));
        Assert.That(Assert.Throws<KeepConfigurationException>(() => KeepstoreArguments.Parse([], "/nonexistent/env.yml", noFile, _ => { }))!.Message,
            Does.StartWith("-config /nonexistent/env.yml: cannot read it"), "ARVADOS_CONFIG when no volume flag is given");
        Assert.That(Assert.Throws<KeepConfigurationException>(() => KeepstoreArguments.Parse([], null, path => path == "/etc/arvados/config.yml", _ => { }))!.Message,
            Does.StartWith("-config /etc/arvados/config.yml: cannot read it"), "the default path when it exists");
        Assert.That(Assert.Throws<KeepConfigurationException>(() => KeepstoreArguments.Parse([], null, noFile, _ => { }))!.Message,
            Does.StartWith("no volumes"), "otherwise the flag dialect, as before");
        Assert.That(Assert.Throws<KeepConfigurationException>(() => KeepstoreArguments.Parse(["-config=/x.yml", "-readonly"], null, noFile, _ => { }))!.Message,
            Is.EqualTo("-readonly: with a cluster config only -config FILE and -listen ADDR are taken; the rest comes from the file"));
    }
}
