// Deliberate violations for CheckerTests, hidden where a reader of signatures alone would miss them.
// Nothing here runs.
using Coffer.Abstractions;
using Coffer.Engine.Operations.Fake;

namespace Coffer.Engine.Core.Fake;

/// <summary>Uses the operations layer only inside a lambda: the closure is compiled to a nested type.</summary>
internal static class FakeCoreWithLambda
{
    public static Func<int> Later() => () => FakeOperation.Run();
}

/// <summary>Uses the operations layer only after an await: the code is in a compiler-generated state machine.</summary>
internal static class FakeCoreWithAsync
{
    public static async Task<object> CreateLaterAsync()
    {
        await Task.Yield();
        return new FakeOperationResult();
    }
}

/// <summary>Names a connector without calling it: a type in a signature.</summary>
internal static class FakeCorePassingStorage
{
    public static IStorageConnector Pass(IStorageConnector storage) => storage;
}

/// <summary>Calls one member of a connector.</summary>
internal static class FakeCoreDescribingStorage
{
    public static string Describe(IStorageConnector storage) => storage.Description;
}

/// <summary>Within its own layer: no violation.</summary>
internal static class FakeCoreClean
{
    public static int Twice(int value) => value * 2;
}
