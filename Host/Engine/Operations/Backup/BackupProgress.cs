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
