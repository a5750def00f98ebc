// The repository may use a connector: no violation, for CheckerTests. Nothing here runs.
using Coffer.Abstractions;

namespace Coffer.Engine.Repository.Fake;

internal static class FakeRepository
{
    public static Task DeleteLockAsync(IStorageConnector storage) => storage.DeleteAsync(StorageObjectClass.Lock, "lock");
}
