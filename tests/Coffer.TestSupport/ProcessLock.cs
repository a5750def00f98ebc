namespace Coffer.TestSupport;

/// <summary>
/// A lock between test processes (the suite runs two test projects at a time): a file opened with
/// <see cref="FileShare.None"/>, which .NET takes as an exclusive advisory lock on Unix, held until the stream is disposed.
/// </summary>
public static class ProcessLock
{
    /// <summary>Waits up to <paramref name="timeout"/> for the lock on <paramref name="path"/> (the file is created if missing).</summary>
    public static async Task<FileStream> AcquireAsync(string path, TimeSpan timeout)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
    }

    /// <summary>
    /// Held around builds of this checkout's projects in Release (<c>coffer pkg build</c> of a plugin of the
    /// solution, <c>dotnet pack</c> of the contracts): they all build the contracts' Release output, and two
    /// builds writing it at once can each read the other's half-written assembly.
    /// </summary>
    public static Task<FileStream> ReleaseBuildAsync() =>
        AcquireAsync(Path.Combine(RepositoryPaths.Root, "Abstractions", "obj", "release-build.lock"), TimeSpan.FromMinutes(15));
}
