using System.Text;
using Coffer.Packager.Repositories;
using Coffer.Packager.Signing;
using Coffer.Packager.Tests.Support;
using Coffer.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.DependencyInjection;

namespace Coffer.Packager.Tests;

/// <summary>
/// Repositories as a user runs them: a publisher's key, the bundled packages published into a directory,
/// over HTTP (the test's own Kestrel) and into Azurite, installed by name, upgraded, and every refusal
/// with the install directory unchanged.
/// </summary>
public class PackageRepositoryTests
{
    private TemporaryDirectory _root = null!;
    private string _posix = null!;
    private string _azblob = null!;
    private string _azblobNewer = null!;

    [OneTimeSetUp]
    public async Task BuildPackagesOnce()
    {
        _root = new TemporaryDirectory("pkg-repo");
        _posix = await BuiltPackages.PosixAsync();
        _azblob = await BuiltPackages.AzBlobAsync();

        // A newer azblob without a second dotnet publish: the same files under version 1.0.1.
        var azblob = CraftedPackage.Open(_azblob);
        _azblobNewer = azblob.Write(_root.Combine("newer"), azblob.Manifest with { Version = "1.0.1" });
    }

    [OneTimeTearDown]
    public void DeleteRoot() => _root.Dispose();

    /// <summary>A coffer of its own that trusts a fresh key (returned as the private key file).</summary>
    private (CofferProcess Coffer, string Key) Publisher(string name)
    {
        var coffer = new CofferProcess(_root.Combine(name, "data"), _root.Combine(name, "config"));
        var key = _root.Combine(name + ".key");
        var generated = coffer.Run("pkg", "key", "generate", "-o", key);
        Assert.That(generated.ExitCode, Is.Zero, generated.ToString());
        Assert.That(File.GetUnixFileMode(key), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "the private key is 0600");
        Ok(coffer, "pkg", "trust", "add", key + ".pub");
        return (coffer, key);
    }

    private static CofferResult Ok(CofferProcess coffer, params string[] args)
    {
        var result = coffer.Run(args);
        Assert.That(result.ExitCode, Is.Zero, $"coffer {string.Join(' ', args)}: {result}");
        return result;
    }

    private static void AssertOneLineFailure(CofferResult result, string expected)
    {
        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), result.ToString());
        Assert.That(lines[0], Does.StartWith("coffer: ").And.Contain(expected), result.ToString());
    }

    [Test]
    public async Task A_directory_repository_publishes_both_bundled_plugins_at_once_installs_by_name_and_upgrades()
    {
        var (coffer, key) = Publisher("dir");
        var repository = _root.Combine("dir-repo");
        Ok(coffer, "pkg", "repo", "add", "local", repository);
        Assert.That(Ok(coffer, "pkg", "repo", "list").Output, Does.Contain("local").And.Contain(repository));

        // Two publishers at once: neither package is lost from the index.
        var publishing = await Task.WhenAll(
            coffer.RunAsync(["pkg", "publish", _posix, "--to", "local", "--key", key], TimeSpan.FromMinutes(2)),
            coffer.RunAsync(["pkg", "publish", _azblob, "--to", "local", "--key", key], TimeSpan.FromMinutes(2)));
        Assert.That(publishing.Select(p => p.ExitCode), Is.All.Zero, string.Join("\n", publishing.Select(p => p.ToString())));
        Assert.That(publishing[0].Output, Does.StartWith("published posix 1.0.0"));

        var search = Ok(coffer, "pkg", "search").Output;
        Assert.That(search, Does.Contain("posix").And.Contain("azblob"));
        Assert.That(Ok(coffer, "pkg", "search", "blob").Output, Does.Not.Contain("posix"));

        Assert.That(Ok(coffer, "pkg", "add", "azblob").Output, Does.StartWith("installed azblob 1.0.0: azblob"));
        Assert.That(Ok(coffer, "pkg", "add", "posix@1.0.0").Output, Does.StartWith("installed posix 1.0.0"));
        var publicKey = File.ReadAllText(key + ".pub").Trim();
        Assert.That(Ok(coffer, "pkg", "list", "--long").Output, Does.Contain($"signed by    {publicKey}"));
        Assert.That(Ok(coffer, "pkg", "outdated").Output, Is.Empty);

        Ok(coffer, "pkg", "publish", _azblobNewer, "--to", "local", "--key", key);
        Assert.That(Ok(coffer, "pkg", "outdated").Output, Does.Contain("azblob").And.Contain("1.0.0").And.Contain("1.0.1"));
        var upgrade = Ok(coffer, "pkg", "upgrade").Output;
        Assert.That(upgrade, Does.Contain("replaced azblob 1.0.0 with azblob 1.0.1").And.Contain("posix 1.0.0 is up to date"));
        Assert.That(Ok(coffer, "pkg", "outdated").Output, Is.Empty);

        // Publishing the same version again is harmless; other content under a published version is refused.
        Ok(coffer, "pkg", "publish", _azblob, "--to", "local", "--key", key);
        var other = CraftedPackage.Open(_posix);
        var changed = CraftedPackage.Write(_root.Combine("changed", Path.GetFileName(_posix)), [new(PackageManifest.FileName, (other.Manifest with { Description = "changed" }).ToJson()), .. other.Files.Select(f => new CraftedEntry(f.Path, f.Data))]);
        AssertOneLineFailure(coffer.Run("pkg", "publish", changed, "--to", "local", "--key", key), "already published");

        Ok(coffer, "pkg", "repo", "remove", "local");
        Assert.That(Ok(coffer, "pkg", "repo", "list").Output, Is.Empty);
    }

    [Test]
    public async Task An_http_repository_served_by_kestrel_installs_by_name_upgrades_and_refuses_publishing()
    {
        var (publisher, key) = Publisher("http-publisher");
        var served = _root.Combine("http-repo");
        Ok(publisher, "pkg", "repo", "add", "files", served);
        Ok(publisher, "pkg", "publish", _posix, "--to", "files", "--key", key);
        Ok(publisher, "pkg", "publish", _azblob, "--to", "files", "--key", key);

        await using var web = await ServeAsync(served);
        var (user, _) = Publisher("http-user");
        Ok(user, "pkg", "trust", "add", key + ".pub");
        Ok(user, "pkg", "repo", "add", "web", web.Url);
        Assert.That(Ok(user, "pkg", "add", "azblob").Output, Does.StartWith("installed azblob 1.0.0"));
        Assert.That(Ok(user, "pkg", "add", "posix").Output, Does.StartWith("installed posix 1.0.0"));

        Ok(publisher, "pkg", "publish", _azblobNewer, "--to", "files", "--key", key);
        Assert.That(Ok(user, "pkg", "upgrade", "azblob").Output, Does.StartWith("replaced azblob 1.0.0 with azblob 1.0.1"));
        AssertOneLineFailure(user.Run("pkg", "publish", _posix, "--to", "web", "--key", key), "only reads");
    }

    [Test]
    public async Task An_azure_repository_in_azurite_publishes_installs_by_name_and_upgrades()
    {
        var azurite = await AzuriteServer.GetSharedAsync();
        var (coffer, key) = Publisher("azure");

        // Reaching a repository in Azure needs the azblob plugin: the first one comes from a file.
        Ok(coffer, "pkg", "add", "--allow-unsigned", _azblob);
        // The container exists before the repository, as a web server's directory would.
        var container = await azurite.CreateContainerAsync("packages");
        Ok(coffer, "pkg", "repo", "add", "az", $"azblob://{container.Name}/coffer", $"connection_string={azurite.ConnectionString}");
        Assert.That(Ok(coffer, "pkg", "repo", "list").Output, Does.Not.Contain(AzuriteServer.AccountKey), "no secret in the listing");
        Ok(coffer, "pkg", "publish", _posix, "--to", "az", "--key", key);
        Ok(coffer, "pkg", "publish", _azblob, "--to", "az", "--key", key);

        Assert.That(Ok(coffer, "pkg", "add", "posix").Output, Does.StartWith("installed posix 1.0.0"));
        Assert.That(Ok(coffer, "pkg", "add", "-u", "azblob").Output, Does.StartWith("reinstalled azblob 1.0.0"));
        Ok(coffer, "pkg", "publish", _azblobNewer, "--to", "az", "--key", key);
        Assert.That(Ok(coffer, "pkg", "upgrade").Output, Does.Contain("replaced azblob 1.0.0 with azblob 1.0.1"));
        Assert.That(Ok(coffer, "pkg", "list", "--long").Output, Does.Contain("signed by    " + File.ReadAllText(key + ".pub").Trim()));
    }

    [Test]
    public void Every_refusal_is_one_line_and_leaves_the_install_directory_unchanged()
    {
        var (coffer, key) = Publisher("refusals");
        var repository = _root.Combine("refusals-repo");
        Ok(coffer, "pkg", "repo", "add", "local", repository);
        Ok(coffer, "pkg", "publish", _azblob, "--to", "local", "--key", key);
        Ok(coffer, "pkg", "add", "--allow-unsigned", _posix); // something installed, so "unchanged" means something
        var plugins = Path.Combine(coffer.DataDirectory, "plugins");
        var index = Path.Combine(repository, RepositoryLayout.IndexFile);
        var good = File.ReadAllBytes(index);

        void Refused(string expected, params string[] args)
        {
            var before = InstallTree.Hash(plugins);
            AssertOneLineFailure(coffer.Run(args.Length == 0 ? ["pkg", "add", "azblob"] : args), expected);
            Assert.That(InstallTree.Hash(plugins), Is.EqualTo(before), $"{expected}: the install directory changed");
        }

        // A tampered index: one changed byte in the signed JSON.
        File.WriteAllBytes(index, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(good).Replace("\"azblob\"", "\"azblab\"", StringComparison.Ordinal)));
        Refused("tampered or corrupt");
        File.WriteAllBytes(index, good);

        // A tampered package: one flipped byte in the .ptar.
        var ptar = Path.Combine(repository, RepositoryLayout.PackagesFolder, Path.GetFileName(_azblob));
        var original = File.ReadAllBytes(ptar);
        var flipped = (byte[])original.Clone();
        flipped[flipped.Length / 2] ^= 0xff;
        File.WriteAllBytes(ptar, flipped);
        Refused("does not match the signed index");
        File.WriteAllBytes(ptar, original);

        // An index signed by a key this user does not trust.
        var strangerKey = _root.Combine("stranger.key");
        Ok(coffer, "pkg", "key", "generate", "-o", strangerKey);
        var strangerIndex = Path.Combine(_root.Path, "stranger-repo");
        Ok(coffer, "pkg", "repo", "add", "stranger", strangerIndex);
        Ok(coffer, "pkg", "publish", _azblob, "--to", "stranger", "--key", strangerKey);
        Refused("a key you do not trust");
        Ok(coffer, "pkg", "repo", "remove", "stranger");

        // A rollback: the index this user saw (version 2) replaced by the older version 1.
        Ok(coffer, "pkg", "publish", _azblobNewer, "--to", "local", "--key", key);
        Ok(coffer, "pkg", "search");
        var newer = File.ReadAllBytes(index);
        File.WriteAllBytes(index, good);
        Refused("rollback");
        File.WriteAllBytes(index, newer);

        using var signer = SigningKey.Load(key);
        var current = RepositoryIndex.Parse(SignedDocument.Open(newer)!.Value.Payload);

        // An expired index, properly signed: a frozen repository.
        File.WriteAllBytes(index, SignedDocument.Sign(signer, (current with { Version = current.Version + 1, Expires = DateTimeOffset.UtcNow.AddDays(-1) }).ToJson()));
        Refused("expired");

        // A properly signed index whose entry names another version than the package it points to holds.
        var lying = current.Packages.Select(p => p.Version == "1.0.0" ? p with { Version = "9.9.9" } : p).ToList();
        File.WriteAllBytes(index, SignedDocument.Sign(signer, new RepositoryIndex(current.Version + 2, DateTimeOffset.UtcNow.AddDays(1), lying).ToJson()));
        Refused("the index lists azblob 9.9.9", "pkg", "add", "azblob@9.9.9");

        // A package signature by an untrusted key inside an index signed by a trusted one.
        using var stranger = SigningKey.Load(strangerKey);
        var foreign = current.Packages.Select(p => p with { Signature = PackageSignature.Create(stranger, "{}"u8) }).ToList();
        File.WriteAllBytes(index, SignedDocument.Sign(signer, new RepositoryIndex(current.Version + 3, DateTimeOffset.UtcNow.AddDays(1), foreign).ToJson()));
        Refused("a key you do not trust");

        // A package signature that does not cover the package (signed by the trusted key over another manifest).
        var wrong = current.Packages.Select(p => p with { Signature = PackageSignature.Create(signer, "{}"u8) }).ToList();
        File.WriteAllBytes(index, SignedDocument.Sign(signer, new RepositoryIndex(current.Version + 4, DateTimeOffset.UtcNow.AddDays(1), wrong).ToJson()));
        Refused("signature does not verify");

        // Local files: unsigned without --allow-unsigned; a detached signature by an untrusted key.
        Refused("is not signed", "pkg", "add", _azblob);
        var copy = _root.Combine("signed", Path.GetFileName(_azblob));
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.Copy(_azblob, copy);
        var manifest = CraftedPackage.Open(_azblob).Manifest;
        File.WriteAllText(copy + ".sig", PackageSignature.Create(stranger, manifest.ToJson()).ToLine());
        Refused("a key you do not trust", "pkg", "add", copy);

        // The same file with a detached signature by the trusted key installs, without a warning, and shows its signer.
        File.WriteAllText(copy + ".sig", PackageSignature.Create(signer, manifest.ToJson()).ToLine());
        var signed = Ok(coffer, "pkg", "add", copy);
        Assert.That(signed.Error, Is.Empty, signed.ToString());
        Assert.That(Ok(coffer, "pkg", "list", "--long").Output, Does.Contain("signed by    " + signer.PublicKey.Text));
    }

    private static async Task<WebRepository> ServeAsync(string directory)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(directory), ServeUnknownFileTypes = true });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new WebRepository(app, address + "/");
    }

    private sealed record WebRepository(WebApplication App, string Url) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
