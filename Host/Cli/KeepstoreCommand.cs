using System.CommandLine;
using System.Runtime.InteropServices;
using Coffer.Abstractions;
using Coffer.Keep;
using Coffer.Keep.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Coffer.Cli;

/// <summary>
/// <c>coffer keepstore</c>: the Arvados Keep block server. Its flags are keepstore's Go-style ones
/// with positional meaning, so they bypass System.CommandLine and reach <see cref="KeepstoreArguments"/> as given,
/// which reads them as the seed's flags or, with <c>-config FILE</c>, reads the Arvados cluster config.
/// This command only turns them into options, creates the volumes through the connector catalog and runs
/// <see cref="KeepService"/>.
/// </summary>
internal static class KeepstoreCommand
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
        // -config FILE (or ARVADOS_CONFIG, or /etc/arvados/config.yml when no volume flag is given) selects today's
        // cluster-config dialect; anything else is the seed's flags.
        var options = KeepstoreArguments.Parse(args, Environment.GetEnvironmentVariable("ARVADOS_CONFIG"), File.Exists, line => context.Error.WriteLine($"coffer: {line}"));
        if (options.HelpRequested)
        {
            foreach (var line in KeepstoreArguments.Usage())
            {
                await context.Output.WriteLineAsync(line);
            }

            foreach (var line in KeepstoreFlagParser.Usage())
            {
                await context.Output.WriteLineAsync(line);
            }

            return ExitCodes.Success;
        }

        var time = TimeProvider.System;
        var service = KeepService.Configure(options, time);
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

        var volumes = await CreateVolumesAsync(context, options, service, new ConnectorContext { LoggerFactory = loggerFactory, Time = time }, cancellationToken);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
        {
            signal.Cancel = true;
            stop.Cancel();
        });

        await service.RunAsync(volumes, loggerFactory, line => context.Error.WriteLine($"coffer: {line}"), stop.Token);
        await context.Error.WriteLineAsync("coffer: keepstore stopped");
        return ExitCodes.Success;
    }

    /// <summary>Creates the volumes the flags name, in order; on a failure, disposes the ones already created.</summary>
    private static async Task<IReadOnlyList<IVolume>> CreateVolumesAsync(CliContext context, KeepstoreOptions options, KeepService service, ConnectorContext connectorContext, CancellationToken cancellationToken)
    {
        var volumes = new List<IVolume>();
        try
        {
            foreach (var spec in options.Volumes)
            {
                try
                {
                    volumes.Add(await context.Catalog.CreateVolumeAsync(
                        new ConnectorConfiguration(spec.Location, spec.Options, connectorContext), service.SettingsFor(spec), cancellationToken));
                }
                catch (ConnectorException e)
                {
                    throw new CliFailure($"{spec.Flag}: {e.Message}", e);
                }
            }
        }
        catch
        {
            foreach (var volume in volumes)
            {
                await volume.DisposeAsync();
            }

            throw;
        }

        return volumes;
    }
}
