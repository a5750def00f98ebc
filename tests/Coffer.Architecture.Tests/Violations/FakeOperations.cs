// Deliberate violations for CheckerTests, in namespaces that imitate the engine's layers; nothing here runs.
#pragma warning disable CA1812 // Never instantiated: only read as metadata.

using Coffer.Abstractions;

namespace Coffer.Engine.Operations.Fake;

internal sealed class FakeOperation
{
    public static int Run() => 1;
}

internal sealed class FakeOperationResult;

/// <summary>Stands for an operation that lists packs itself instead of asking the repository: a violation.</summary>
internal static class FakeStorageUser
{
    public static async Task<int> CountPacksAsync(IStorageConnector storage)
    {
        var count = 0;
        await foreach (var _ in storage.ListAsync(StorageObjectClass.Packfile))
        {
            count++;
        }

        return count;
    }
}
