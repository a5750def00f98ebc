using BenchmarkDotNet.Running;

// Arguments are BenchmarkDotNet's (e.g. --filter '*' --job short); bench/run passes them.
BenchmarkSwitcher.FromAssembly(typeof(Coffer.Bench.Micro.EnginePaths).Assembly).Run(args);
