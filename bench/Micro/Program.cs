using BenchmarkDotNet.Running;

// Arguments are BenchmarkDotNet's (e.g. --filter '*' --job short); bench/run passes them.
// 'zstd-cpu [ROUNDS]' instead compares native and managed zstd by CPU time (bench/README.md).
if (args.Length > 0 && args[0] == "zstd-cpu")
{
    new Coffer.Bench.Micro.ZstdImplementations().PrintCpuMedians(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 15);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Coffer.Bench.Micro.EnginePaths).Assembly).Run(args);
