using Coffer.Cli;
using Coffer.Packager;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl-C asks work to stop cleanly; a second one kills the process.
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};

// Code in a plugin can call Environment.Exit(0) in the middle of a command: the process then ends without
// the command's work done, and must not report success (docs/abi.md says what else cannot be guarded).
var finished = false;
AppDomain.CurrentDomain.ProcessExit += (_, _) =>
{
    if (!finished && Environment.ExitCode == ExitCodes.Success)
    {
        Console.Error.WriteLine("coffer: the process was ended before the command finished (a plugin called Environment.Exit?): its work is not done");
        Environment.ExitCode = ExitCodes.Failure;
    }
};

var paths = CofferPaths.FromEnvironment();
StartupProfile.Start(paths, args);
using var context = new CliContext(paths, Console.Out, Console.Error);
var exitCode = await CofferCommandLine.RunAsync(args, context, cancellation.Token);
finished = true;
return exitCode;
