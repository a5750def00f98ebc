using System.Runtime.CompilerServices;
using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Crypto;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Repository.Crypto;

public class StoreKeyringTests
{
    private const string First = "first pass phrase";
    private ConnectorCatalog _catalog = null!;

    [OneTimeSetUp]
    public void Load() => _catalog = EngineHarness.LoadBundled();

    [OneTimeTearDown]
    public void Unload() => _catalog.Dispose();

    [Test]
    public async Task Keys_change_beside_a_running_backup_which_finishes_and_checks_clean()
    {
        using var temp = new TemporaryDirectory("keys-backup");
        var storeDirectory = temp.Combine("store");
        var source = temp.Combine("source");
        LifecycleCli.BuildTree(source, seed: 5, files: 40, size: 1 << 20);
        var (first, second, third) = (PassFile(temp, "first", First), PassFile(temp, "second", "second pass phrase"), PassFile(temp, "third", "third pass phrase"));
        var coffer = CofferCli.WithPosix(temp);

        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(storeDirectory));
        var store = await EngineHarness.CreateAndOpenAsync(storage, First);
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var files = await _catalog.CreateSourceAsync(new ConnectorConfiguration(source));
        var backup = EngineHarness.BackupAsync(store, new PausingSource(files, pauseAt: 20, reached, resume.Task), source);

        // Half way through the backup, its key is replaced: it holds the master key it unwrapped when it opened the store.
        await reached.Task.WaitAsync(TimeSpan.FromMinutes(2));
        var added = await coffer.RunAsync("at", storeDirectory, "key", "add", "--passphrase-file", first, "--new-passphrase-file", second);
        var changed = await coffer.RunAsync("at", storeDirectory, "key", "passwd", "--passphrase-file", first, "--new-passphrase-file", third);
        Assert.That(backup.IsCompleted, Is.False, "the backup is still waiting at its pause");
        Assert.That((added.ExitCode, changed.ExitCode), Is.EqualTo((0, 0)), added + "\n" + changed);
        resume.SetResult();
        var snapshot = await backup;

        CofferCli.AssertOneLineFailure(await coffer.RunAsync("at", storeDirectory, "ls", "--passphrase-file", first), "wrong passphrase");
        var check = await coffer.RunAsync("at", storeDirectory, "check", "--passphrase-file", second);
        Assert.That(check.Output, Does.StartWith("check ok: 1 snapshots"), check.ToString());
        var restored = temp.Combine("restored");
        var restore = await coffer.RunAsync("at", storeDirectory, "restore", "-to", restored, snapshot.ShortId, "--passphrase-file", third);
        Assert.That(restore.ExitCode, Is.Zero, restore.ToString());
        TreeAssert.AreEqual(source, restored, compareRootMtime: false);
    }

    [Test]
    public async Task A_connector_without_key_objects_keeps_the_key_in_config_and_refuses_new_keys_in_one_line()
    {
        using var temp = new TemporaryDirectory("keys-old-connector");
        await using var posix = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));
        var storage = new ConnectorBeforeKeyObjects(posix);

        var created = await EngineHarness.CreateAndOpenAsync(storage, First);
        var reopened = await EngineHarness.ReopenAsync(storage, First);

        Assert.That(created.Config.Encryption!.WrappedKey, Is.Not.Null, "the key is in CONFIG, as before key objects");
        Assert.That((created.KeyId, reopened.KeyId), Is.EqualTo((StoreKeyring.ConfigKeyId, StoreKeyring.ConfigKeyId)));
        Assert.That(reopened.Keys.ComputeId([1, 2, 3]), Is.EqualTo(created.Keys.ComputeId([1, 2, 3])));
        Assert.That((await StoreKeyring.ListAsync(reopened, CancellationToken.None)).Select(k => k.Id), Is.EqualTo(new[] { StoreKeyring.ConfigKeyId }));
        var refused = Assert.ThrowsAsync<StoreException>(() => StoreKeyring.AddAsync(reopened, "another", TimeProvider.System, "host", CancellationToken.None));
        Assert.That(refused!.Message, Does.Contain("cannot hold key objects").And.Contain("ABI 1.2").And.Not.Contain("\n"));
        Assert.ThrowsAsync<WrongPassphraseException>(() => EngineHarness.ReopenAsync(storage, "wrong"));
    }

    [Test]
    public async Task A_new_encrypted_store_keeps_its_key_only_in_a_key_object_named_by_its_hash()
    {
        using var temp = new TemporaryDirectory("keys-new");
        await using var storage = await _catalog.CreateStorageAsync(new ConnectorConfiguration(temp.Combine("store")));

        var store = await EngineHarness.CreateAndOpenAsync(storage, First);

        var keyFiles = Directory.GetFiles(temp.Combine("store/keys"));
        Assert.That(store.Config.Encryption, Has.Property("WrappedKey").Null.And.Property("Kdf").Null);
        Assert.That(keyFiles.Select(Path.GetFileName), Is.EqualTo(new[] { store.KeyId }));
        Assert.That(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(keyFiles[0]))), Is.EqualTo(store.KeyId));
        Assert.That(await File.ReadAllTextAsync(keyFiles[0]), Does.Not.Contain(First));
    }

    private static string PassFile(TemporaryDirectory temp, string name, string passphrase)
    {
        var path = temp.Combine(name);
        File.WriteAllText(path, passphrase + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    /// <summary>The real posix storage as a plugin built before ABI 1.2 sees it: it has no place for key objects.</summary>
    private sealed class ConnectorBeforeKeyObjects(IStorageConnector inner) : IStorageConnector
    {
        public string Description => inner.Description;

        public StorageMode Mode => inner.Mode;

        public Task CreateAsync(ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default) => inner.CreateAsync(config, cancellationToken);

        public Task<byte[]> OpenAsync(CancellationToken cancellationToken = default) => inner.OpenAsync(cancellationToken);

        public Task PutAsync(StorageObjectClass objectClass, string name, Stream content, CancellationToken cancellationToken = default) =>
            inner.PutAsync(Known(objectClass), name, content, cancellationToken);

        public Task<Stream> GetAsync(StorageObjectClass objectClass, string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
            inner.GetAsync(Known(objectClass), name, offset, length, cancellationToken);

        public Task DeleteAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken = default) =>
            inner.DeleteAsync(Known(objectClass), name, cancellationToken);

        public async IAsyncEnumerable<StorageObject> ListAsync(StorageObjectClass objectClass, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var item in inner.ListAsync(Known(objectClass), cancellationToken))
            {
                yield return item;
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        // What the bundled plugins' class switches did before ABI 1.2.
        private static StorageObjectClass Known(StorageObjectClass objectClass) =>
            objectClass is StorageObjectClass.Key ? throw new ArgumentOutOfRangeException(nameof(objectClass), objectClass, "unknown object class") : objectClass;
    }
}
