using Coffer.Cli;
using Coffer.Packager;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl-C asks work to stop cleanly; a second one kills the process.
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};

using var context = new CliContext(CofferPaths.FromEnvironment(), Console.Out, Console.Error);
return await CofferCommandLine.RunAsync(args, context, cancellation.Token);
