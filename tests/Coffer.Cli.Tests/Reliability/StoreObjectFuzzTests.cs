using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.Engine.Core;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Repository;
using Coffer.TestSupport;

namespace Coffer.Cli.Tests.Reliability;

/// <summary>
/// Feeds seeded mutations of every object of a real store (CONFIG, packs, index, snapshots; trees live in
/// packs) to open, list, check and restore: each case ends with success or a store/connector error, within
/// a time limit, and writes nothing outside the restore directory.
/// </summary>
public class StoreObjectFuzzTests
{
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);

    [TestCase(false, 7, 1000)]
    [TestCase(true, 8, 1000)]
    public async Task Mutated_store_objects_fail_with_store_errors_only(bool encrypted, int seed, int cases)
    {
        using var catalog = EngineHarness.LoadBundled();
        using var temp = new TemporaryDirectory("store-fuzz");
        var source = temp.Combine("source");
        Directory.CreateDirectory(Path.Combine(source, "sub", "deeper"));
        var random = new Random(seed);
        File.WriteAllBytes(Path.Combine(source, "a.bin"), TreeAssert.Bytes(random, 3000));
        File.WriteAllText(Path.Combine(source, "sub", "b.txt"), "bee\n");
        File.WriteAllBytes(Path.Combine(source, "sub", "deeper", "c.bin"), TreeAssert.Bytes(random, 700));
        File.CreateSymbolicLink(Path.Combine(source, "link"), "sub/b.txt");

        var sandbox = temp.Combine("sandbox");
        var storePath = Path.Combine(sandbox, "store");
        var passphrase = encrypted ? EngineHarness.Passphrase : null;
        await using (var storage = await catalog.CreateStorageAsync(new ConnectorConfiguration(storePath)))
        {
            var store = await EngineHarness.CreateAndOpenAsync(storage, passphrase);
            await using var connector = await catalog.CreateSourceAsync(new ConnectorConfiguration(source));
            await EngineHarness.BackupAsync(store, connector, source);
            File.WriteAllText(Path.Combine(source, "sub", "b.txt"), "bee two\n");
            await EngineHarness.BackupAsync(store, connector, source);
        }

        var objects = Directory.GetFiles(storePath, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        var names = objects.Keys.Order(StringComparer.Ordinal).ToArray();
        Assert.That(names, Has.Length.GreaterThanOrEqualTo(5), "the store has CONFIG, packs, index and snapshots");
        var restoreParent = Path.Combine(sandbox, "restore");
        var outcomes = new Dictionary<string, int>();

        for (var i = 0; i < cases; i++)
        {
            var target = names[random.Next(names.Length)];
            var (mutated, what) = random.Next(40) == 0 ? (null, "deleted") : Mutator.Mutate(random, objects[target]);
            var label = $"seed {seed} case {i}: {Path.GetRelativePath(storePath, target)} {what}";
            if (mutated is null)
            {
                File.Delete(target);
            }
            else
            {
                File.WriteAllBytes(target, mutated);
            }

            try
            {
                var outcome = await Task.Run(() => ExerciseAsync(catalog, storePath, Path.Combine(restoreParent, "out"), passphrase)).WaitAsync(CaseTimeout);
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
            catch (TimeoutException)
            {
                Assert.Fail($"{label}: no result within {CaseTimeout}");
            }
            catch (Exception e) when (e is not AssertionException)
            {
                Assert.Fail($"{label}: unexpected {e.GetType().Name}: {e.Message}\n{e}");
            }

            Assert.That(Directory.GetFileSystemEntries(sandbox).Select(Path.GetFileName), Is.EquivalentTo(new[] { "store", "restore" }).Or.EquivalentTo(new[] { "store" }), label);
            if (Directory.Exists(restoreParent))
            {
                Assert.That(Directory.GetFileSystemEntries(restoreParent).Select(Path.GetFileName), Is.EquivalentTo(new[] { "out" }).Or.Empty, $"{label}: restore wrote beside its directory");
                Directory.Delete(restoreParent, recursive: true);
            }

            File.WriteAllBytes(target, objects[target]);
            Assert.That(Directory.GetFiles(storePath, "*", SearchOption.AllDirectories), Is.EquivalentTo(names), $"{label}: the store's objects changed");
        }

        TestContext.Out.WriteLine(string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}")));
        Assert.That(outcomes.Keys.Count(k => k != "ok"), Is.GreaterThan(0), "the mutations reached the decoders");
    }

    // Opens the store, lists its snapshots, checks them and restores each; returns "ok" or the error's type.
    private static async Task<string> ExerciseAsync(ConnectorCatalog catalog, string storePath, string output, string? passphrase)
    {
        try
        {
            await using var storage = await catalog.CreateStorageAsync(new ConnectorConfiguration(storePath));
            var config = await CofferStore.ReadConfigAsync(storage, CancellationToken.None);
            var store = await CofferStore.OpenAsync(storage, config, () => passphrase ?? EngineHarness.Passphrase, CancellationToken.None);
            var snapshots = await store.ListSnapshotsAsync(CancellationToken.None);
            var check = await new Checker(store).RunAsync(snapshots, fast: false, CancellationToken.None);
            foreach (var snapshot in snapshots)
            {
                Directory.CreateDirectory(output);
                await using var destination = await catalog.CreateDestinationAsync(new ConnectorConfiguration(output));
                await EngineHarness.RestoreAsync(store, snapshot, destination);
                Directory.Delete(output, recursive: true);
            }

            return check.Problems.Count == 0 ? "ok" : "check problems";
        }
        catch (StoreException e)
        {
            return e.GetType().Name;
        }
        catch (ConnectorException e)
        {
            return e.GetType().Name;
        }
    }
}
