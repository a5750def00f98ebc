using System.Globalization;
using Coffer.Abstractions;
using Microsoft.Extensions.Logging;

namespace Coffer.Keep;

/// <summary>
/// The Keep block server as a whole: the volumes mounted as the command line named them, the block store, the
/// background workers and the HTTP API, served until stopped. Whoever hosts it (the command line) only parses the
/// flags, creates the volumes and decides where logs and notices go.
/// </summary>
/// <remarks>
/// Two steps, so that everything wrong with the configuration itself (the <c>-listen</c> address, the secret
/// files) is reported before any volume is created.
/// </remarks>
internal sealed partial class KeepService
{
    private readonly KeepstoreOptions _options;
    private readonly KeepstoreSecrets _secrets;
    private readonly TimeProvider _time;

    private KeepService(KeepstoreOptions options, KeepstoreSecrets secrets, TimeProvider time)
    {
        _options = options;
        _secrets = secrets;
        _time = time;
    }

    /// <summary>Checks the configuration that needs no volume: the listen address and the secret files.</summary>
    /// <param name="options">The parsed flags.</param>
    /// <param name="time">The clock signatures, trash ages and the trash timer use.</param>
    /// <returns>The service, ready to run over the volumes <paramref name="options"/> names.</returns>
    /// <exception cref="KeepConfigurationException">The address or a secret file is unusable.</exception>
    public static KeepService Configure(KeepstoreOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        KeepServer.ParseListen(options.Listen);
        return new KeepService(options, KeepstoreSecrets.Load(options, time), time);
    }

    /// <summary>The settings the volume named by <paramref name="spec"/> is created with.</summary>
    /// <param name="spec">One of the options' <see cref="KeepstoreOptions.Volumes"/>.</param>
    /// <returns>The settings to pass to the volume's connector.</returns>
    public VolumeSettings SettingsFor(KeepVolumeSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new VolumeSettings
        {
            ReadOnly = spec.ReadOnly,
            Serialize = spec.Serialize,
            BlobSignatureTtl = _options.BlobSignatureTtl,
            TrashLifetime = _options.TrashLifetime,
        };
    }

    /// <summary>
    /// Mounts the volumes, writes the <c>-pid</c> file and serves until <paramref name="cancellationToken"/> is
    /// cancelled. Owns the volumes: they are disposed when this returns, whether it succeeded or not.
    /// </summary>
    /// <param name="volumes">One volume per <see cref="KeepstoreOptions.Volumes"/>, in the same order, created
    /// with <see cref="SettingsFor"/>.</param>
    /// <param name="loggerFactory">Where the server and Kestrel log.</param>
    /// <param name="notify">Receives the lines meant for the operator rather than the log: warnings about the
    /// configuration, and the address actually listened on.</param>
    /// <param name="cancellationToken">Stops the server.</param>
    /// <returns>A task that completes when the server has stopped.</returns>
    /// <exception cref="KeepConfigurationException">The pid file cannot be written or the address cannot be listened on.</exception>
    public async Task RunAsync(IReadOnlyList<IVolume> volumes, ILoggerFactory loggerFactory, Action<string> notify, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(volumes);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(notify);
        if (volumes.Count != _options.Volumes.Count)
        {
            foreach (var volume in volumes)
            {
                await volume.DisposeAsync().ConfigureAwait(false);
            }

            throw new ArgumentException($"{volumes.Count} volumes for the {_options.Volumes.Count} the options name", nameof(volumes));
        }

        var mounts = new KeepVolumeSet(volumes.Select((volume, index) => new KeepMount(index, _options.Volumes[index], volume)).ToList(), rendezvous: _options.FromClusterConfig);
        await using (mounts.ConfigureAwait(false))
        {
            var logger = loggerFactory.CreateLogger("Coffer.Keep");
            foreach (var mount in mounts.All)
            {
                LogVolume(logger, mount.Uuid, mount.Label, !mount.IsReadOnly, mount.Replication);
            }

            foreach (var shared in mounts.All.GroupBy(m => m.Volume.DeviceId).Where(g => g.Count() > 1))
            {
                notify($"warning: {string.Join(" and ", shared.Select(m => m.Spec.Flag))} reach the same storage ({shared.Key})");
            }

            if (_secrets.Signer is null && !_options.FromClusterConfig)
            {
                notify("notice: no -permission-key-file: locators are returned unsigned and would be refused by servers that enforce permissions");
            }

            using var buffers = new BlockBufferPool(_options.MaxBuffers);
            var store = new BlockStore(mounts, buffers, logger);
            using var workers = new KeepWorkers(store, _secrets, _options, _time, logger);
            var metrics = new KeepMetrics();
            metrics.Observe(buffers, workers);
            foreach (var mount in mounts.All)
            {
                mount.Metrics = metrics;
            }

            var api = new KeepHttpApi(store, workers, _secrets, _options, logger, metrics);
            using var pidFile = PidFile.Create(_options.PidFile);
            await KeepServer.RunAsync(api, workers, _options.Listen, loggerFactory,
                address => notify($"keepstore listening at {address}"), cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "mount {Uuid}: {Volume} (writable={Writable}, replication={Replication})")]
    private static partial void LogVolume(ILogger logger, string uuid, string volume, bool writable, int replication);

    /// <summary>keepstore's <c>-pid</c> file: holds the process id while the server runs.</summary>
    private sealed class PidFile : IDisposable
    {
        private readonly string? _path;

        private PidFile(string? path) => _path = path;

        public static PidFile Create(string? path)
        {
            if (path is not null)
            {
                try
                {
                    File.WriteAllText(path, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new KeepConfigurationException($"-pid {path}: cannot write it: {e.Message}", e);
                }
            }

            return new PidFile(path);
        }

        public void Dispose()
        {
            if (_path is not null)
            {
                File.Delete(_path);
            }
        }
    }
}
