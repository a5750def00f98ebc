using Coffer.TestSupport;

namespace Coffer.Plugins.Posix.Tests;

/// <summary>A fresh temporary directory for each test, behind the conformance fixtures' backend hooks.</summary>
internal sealed class PerTestDirectory(string prefix)
{
    private TemporaryDirectory? _current;

    public string Path => _current?.Path ?? throw new InvalidOperationException("no test is running: the backend was not created");

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public Task CreateAsync()
    {
        _current = new TemporaryDirectory(prefix);
        return Task.CompletedTask;
    }

    public Task DeleteAsync()
    {
        _current?.Dispose();
        _current = null;
        return Task.CompletedTask;
    }
}
