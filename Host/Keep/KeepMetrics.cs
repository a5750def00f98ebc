using System.Globalization;
using System.Text.RegularExpressions;
using Prometheus;

namespace Coffer.Keep;

/// <summary>
/// The server's Prometheus metrics, under keepstore's names where it has them: requests by status code and
/// method (<c>request_duration_seconds</c>, a summary, as Arvados' httpserver), volume operations, errors and
/// bytes by device (<c>arvados_keepstore_volume_*</c>), the buffer pool and the pull and trash queues. Each server
/// has its own registry: nothing process-wide.
/// </summary>
internal sealed partial class KeepMetrics
{
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly Summary _requests;
    private readonly Counter _volumeOperations;
    private readonly Counter _volumeErrors;
    private readonly Counter _volumeBytes;

    public KeepMetrics()
    {
        var factory = Metrics.WithCustomRegistry(_registry);
        _requests = factory.CreateSummary("request_duration_seconds", "Summary of request duration.", ["code", "method"]);
        _volumeOperations = factory.CreateCounter("arvados_keepstore_volume_operations", "Number of volume operations", ["device_id", "operation"]);
        _volumeErrors = factory.CreateCounter("arvados_keepstore_volume_errors", "Number of volume errors", ["device_id", "error_type"]);
        _volumeBytes = factory.CreateCounter("arvados_keepstore_volume_io_bytes", "Volume I/O traffic in bytes", ["device_id", "direction"]);
    }

    /// <summary>Adds the gauges read at each scrape: buffer pool and work queues.</summary>
    public void Observe(BlockBufferPool buffers, KeepWorkers workers)
    {
        var factory = Metrics.WithCustomRegistry(_registry);
        var allocated = factory.CreateGauge("arvados_keepstore_bufferpool_allocated_bytes", "Number of bytes allocated to buffers");
        var max = factory.CreateGauge("arvados_keepstore_bufferpool_max_buffers", "Maximum number of buffers allowed");
        var inUse = factory.CreateGauge("arvados_keepstore_bufferpool_inuse_buffers", "Number of buffers in use");
        var pullPending = factory.CreateGauge("arvados_keepstore_pull_queue_pending_entries", "Number of queued pull requests");
        var pullInProgress = factory.CreateGauge("arvados_keepstore_pull_queue_inprogress_entries", "Number of pull requests in progress");
        var trashPending = factory.CreateGauge("arvados_keepstore_trash_queue_pending_entries", "Number of queued trash requests");
        var trashInProgress = factory.CreateGauge("arvados_keepstore_trash_queue_inprogress_entries", "Number of trash requests in progress");
        _registry.AddBeforeCollectCallback(() =>
        {
            allocated.Set(buffers.BytesAllocatedCumulative);
            max.Set(buffers.MaxBuffers);
            inUse.Set(buffers.InUse);
            var pulls = workers.Pulls.Status;
            var trash = workers.Trash.Status;
            pullPending.Set(pulls.Queued);
            pullInProgress.Set(pulls.InProgress);
            trashPending.Set(trash.Queued);
            trashInProgress.Set(trash.InProgress);
        });
    }

    public void Request(int status, string method, TimeSpan duration) =>
        _requests.WithLabels(status.ToString(CultureInfo.InvariantCulture), method).Observe(duration.TotalSeconds);

    /// <summary>Counts one volume operation, named from the call's expression (<c>v.ReadAsync(…)</c> → <c>read</c>).</summary>
    public void VolumeOperation(string deviceId, string expression, Exception? error)
    {
        var match = OperationName().Match(expression);
        var operation = match.Success ? SnakeCase().Replace(match.Groups["op"].Value, "$1_$2").ToLowerInvariant() : "other";
        _volumeOperations.WithLabels(deviceId, operation).Inc();
        if (error is not null)
        {
            _volumeErrors.WithLabels(deviceId, error.GetType().Name).Inc();
        }
    }

    public void VolumeBytes(string deviceId, string direction, long bytes) =>
        _volumeBytes.WithLabels(deviceId, direction).Inc(bytes);

    /// <summary>Writes every metric in the Prometheus text format.</summary>
    public Task ExportAsync(Stream destination, CancellationToken cancellationToken) =>
        _registry.CollectAndExportAsTextAsync(destination, cancellationToken);

    [GeneratedRegex(@"\bv\.(?:Get)?(?<op>\w+?)Async\(", RegexOptions.CultureInvariant)]
    private static partial Regex OperationName();

    [GeneratedRegex("([a-z0-9])([A-Z])", RegexOptions.CultureInvariant)]
    private static partial Regex SnakeCase();
}
