using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository.Crypto;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Repository.Crypto;

[NonParallelizable]
public class StoreKeysKdfTests
{
    // Made by coffer before the KDF moved to libsodium, at that default: 64 MiB, 3 passes, 2 lanes.
    private static readonly string PreviousDefaultStore = Path.Combine(TestContext.CurrentContext.TestDirectory, "Repository", "Crypto", "previous-default-kdf-store");

    [Test]
    public async Task A_store_made_with_the_previous_default_cost_still_opens_and_reads()
    {
        using var root = new TemporaryDirectory("kdf");
        var store = root.Combine("store");
        CopyDirectory(PreviousDefaultStore, store);
        var coffer = CofferCli.WithPosix(root);
        coffer.Environment["COFFER_PASSPHRASE"] = "previous-default";

        var config = StoreConfig.Parse(await File.ReadAllBytesAsync(Path.Combine(store, "CONFIG")));
        var cat = await coffer.RunAsync("at", store, "cat", "latest:hello.txt");

        Assert.That(config.Encryption!.Kdf, Has.Property("MemoryKib").EqualTo(64 * 1024).And.Property("Iterations").EqualTo(3).And.Property("Parallelism").EqualTo(2));
        Assert.That(cat.ExitCode, Is.Zero, cat.ToString());
        Assert.That(cat.Output, Is.EqualTo("made by coffer before the KDF moved to libsodium\n"));
    }

    [TestCase(1024, 1)]
    [TestCase(2048, 3)]
    public void Libsodium_and_the_managed_argon2id_agree_on_one_lane(int memoryKib, int iterations)
    {
        // Stores made with one lane before libsodium (the tests' weak cost) now open through it.
        var kdf = new KdfParameters { Salt = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray(), MemoryKib = memoryKib, Iterations = iterations, Parallelism = 1 };

        Assert.That(StoreKeys.DeriveKeyEncryptionKey("pass phrase é", kdf), Is.EqualTo(StoreKeys.DeriveManaged("pass phrase é", kdf)));
    }

    [Test]
    public void New_stores_record_the_default_cost_on_one_lane_and_reopen()
    {
        var previous = Environment.GetEnvironmentVariable(StoreKeys.TestKdfVariable);
        Environment.SetEnvironmentVariable(StoreKeys.TestKdfVariable, null);
        try
        {
            var (config, keys) = StoreKeys.CreateNew("right", TimeProvider.System, keyInConfig: true);
            var kdf = config.Encryption!.Kdf!;
            var reopened = StoreKeys.Open(StoreConfig.Parse(config.ToJson()), () => "right");

            Assert.That((kdf.MemoryKib, kdf.Iterations, kdf.Parallelism, kdf.Salt.Length), Is.EqualTo((StoreKeys.DefaultKdfMemoryKib, StoreKeys.DefaultKdfIterations, 1, 16)));
            Assert.That(reopened.ComputeId([1, 2, 3]), Is.EqualTo(keys.ComputeId([1, 2, 3])));
        }
        finally
        {
            Environment.SetEnvironmentVariable(StoreKeys.TestKdfVariable, previous);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
