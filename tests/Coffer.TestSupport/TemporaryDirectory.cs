namespace Coffer.TestSupport;

/// <summary>A fresh directory under the system temp directory, deleted on dispose.</summary>
public sealed class TemporaryDirectory : IDisposable
{
    public TemporaryDirectory(string? prefix = null)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"coffer-{prefix ?? "test"}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>A path inside the directory (not created).</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            MakeWritable(new DirectoryInfo(Path));
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process the test started may still hold a file; the OS temp cleaner gets it.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    // Tests make read-only files and directories; deletion needs write permission on them.
    private static void MakeWritable(DirectoryInfo directory)
    {
        if (!directory.Exists || directory.LinkTarget is not null)
        {
            return;
        }

        directory.UnixFileMode |= UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        foreach (var child in directory.EnumerateDirectories())
        {
            MakeWritable(child);
        }
    }
}
