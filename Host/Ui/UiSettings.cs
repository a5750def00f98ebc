using Coffer.Abstractions;
using Coffer.Engine.Repository;

namespace Coffer.Ui;

/// <summary>What the interface works on, handed over by the command line, which opened the store.</summary>
internal sealed record UiSettings
{
    /// <summary>The open store (index loaded). Pages only read it; restore and check take a read lock first.</summary>
    public required CofferStore Store { get; init; }

    /// <summary>Opens what the user typed as a restore target (a directory, a location, <c>@name[:sub]</c>), as <c>restore -to</c> does.</summary>
    public required Func<string, CancellationToken, ValueTask<IDestinationConnector>> OpenDestination { get; init; }

    /// <summary>The clock for locks and the timeline.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>This host's name, recorded in the locks restore and check take.</summary>
    public string HostName { get; init; } = Environment.MachineName;

    /// <summary>How the user runs <c>unlock</c> on this store, for the message of a lock conflict.</summary>
    public string UnlockHint { get; init; } = "coffer unlock";
}
