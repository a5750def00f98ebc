using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Coffer.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

using Coffer.Keep;

namespace Coffer.Cli;

/// <summary>
/// <c>coffer keepstore</c>: the Arvados Keep block server. Its flags are keepstore's Go-style ones
/// with positional meaning, so they bypass System.CommandLine and reach <see cref="KeepstoreFlagParser"/> as given.
/// </summary>
internal static partial class KeepstoreCommand
{
    public const string Name = "keepstore";

    public static Command Create(CliContext context)
    {
        var command = new Command(Name, "Run an Arvados Keep block server over directory and Azure container volumes (keepstore's flags; -help lists them).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction((parsed, cancellationToken) => RunAsync(context, parsed.UnmatchedTokens, cancellationToken));
        return command;
    }

    public static async Task<int> RunAsync(CliContext context, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var options = KeepstoreFlagParser.Parse(args, line => context.Error.WriteLine($"coffer: {line}"));
        if (options.HelpRequested)
        {
            await context.Output.WriteLineAsync("usage: coffer keepstore [flags]   (flags apply in order: -readonly and the Azure account flags affect the volumes named after them)");
            foreach (var line in KeepstoreFlagParser.Usage())
            {
                await context.Output.WriteLineAsync(line);
            }

            return ExitCodes.Success;
        }

        // A bad -listen is reported before any volume is touched.
        KeepServer.ParseListen(options.Listen);
        var time = TimeProvider.System;
        var secrets = KeepstoreSecrets.Load(options, time);
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .SetMinimumLevel(LogLevel.Information)
            .AddFilter("Microsoft", LogLevel.Warning)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            })
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        var logger = loggerFactory.CreateLogger("Coffer.Keep");

        var volumes = await MountAsync(context, options, loggerFactory, time, cancellationToken);
        await using (volumes)
        {
            foreach (var mount in volumes.All)
            {
                LogVolume(logger, mount.Uuid, mount.Label, !mount.IsReadOnly, mount.Replication);
            }

            foreach (var shared in volumes.All.GroupBy(m => m.Volume.DeviceId).Where(g => g.Count() > 1))
            {
                await context.Error.WriteLineAsync($"coffer: warning: {string.Join(" and ", shared.Select(m => m.Spec.Flag))} reach the same storage ({shared.Key})");
            }

            if (secrets.Signer is null)
            {
                await context.Error.WriteLineAsync("coffer: notice: no -permission-key-file: locators are returned unsigned and would be refused by servers that enforce permissions");
            }

            using var buffers = new BlockBufferPool(options.MaxBuffers);
            var store = new BlockStore(volumes, buffers, logger);
            using var workers = new KeepWorkers(store, secrets, options, time, logger);
            var api = new KeepHttpApi(store, workers, secrets, options, logger);

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
            {
                signal.Cancel = true;
                stop.Cancel();
            });

            using var pidFile = PidFile.Create(options.PidFile);
            await KeepServer.RunAsync(api, workers, options.Listen, loggerFactory,
                address => context.Error.WriteLine($"coffer: keepstore listening at {address}"), stop.Token);
            await context.Error.WriteLineAsync("coffer: keepstore stopped");
            return ExitCodes.Success;
        }
    }

    private static async Task<KeepVolumeSet> MountAsync(CliContext context, KeepstoreOptions options, ILoggerFactory loggerFactory, TimeProvider time, CancellationToken cancellationToken)
    {
        var connectorContext = new ConnectorContext { LoggerFactory = loggerFactory, Time = time };
        var mounts = new List<KeepMount>();
        try
        {
            foreach (var spec in options.Volumes)
            {
                var settings = new VolumeSettings
                {
                    ReadOnly = spec.ReadOnly,
                    Serialize = spec.Serialize,
                    BlobSignatureTtl = options.BlobSignatureTtl,
                    TrashLifetime = options.TrashLifetime,
                };
                IVolume volume;
                try
                {
                    volume = await context.Catalog.CreateVolumeAsync(new ConnectorConfiguration(spec.Location, spec.Options, connectorContext), settings, cancellationToken);
                }
                catch (ConnectorException e)
                {
                    throw new CliFailure($"{spec.Flag}: {e.Message}", e);
                }

                mounts.Add(new KeepMount(mounts.Count, spec, volume));
            }
        }
        catch
        {
            foreach (var mount in mounts)
            {
                await mount.DisposeAsync();
            }

            throw;
        }

        return new KeepVolumeSet(mounts);
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
                    throw new CliFailure($"-pid {path}: cannot write it: {e.Message}", e);
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
