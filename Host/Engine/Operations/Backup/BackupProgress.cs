namespace Coffer.Engine.Operations.Backup;

/// <summary>Counters a pipeline updates from any thread and a progress display samples.</summary>
internal sealed class BackupProgress
{
    private long _plannedBytes;
    private long _doneBytes;
    private long _plannedFiles;
    private long _doneFiles;

    public long PlannedBytes => Interlocked.Read(ref _plannedBytes);

    public long DoneBytes => Interlocked.Read(ref _doneBytes);

    public long PlannedFiles => Interlocked.Read(ref _plannedFiles);

    public long DoneFiles => Interlocked.Read(ref _doneFiles);

    /// <summary>
    /// Told of each file a run handles, with what happened to it (<c>new</c>, <c>modified</c> for a backup, <c>restored</c>
    /// for a restore): <c>--verbose</c>'s lines. Called from several threads at once; null when nobody listens.
    /// </summary>
    public Action<string, string>? OnFile { get; init; }

    public void ReportFile(string what, string path) => OnFile?.Invoke(what, path);

    public void AddPlanned(long bytes)
    {
        Interlocked.Add(ref _plannedBytes, bytes);
        Interlocked.Increment(ref _plannedFiles);
    }

    public void AddDone(long bytes, bool file)
    {
        Interlocked.Add(ref _doneBytes, bytes);
        if (file)
        {
            Interlocked.Increment(ref _doneFiles);
        }
    }
}
