using System.Security.Cryptography;
using Coffer.Abstractions;
using Coffer.Connectors;
using Coffer.TestSupport;

// Usage: Coffer.Plugins.AzBlob.Stress LOCATION ROUNDS SEED
// The connection string comes from the environment (AZBLOB_CONNECTION_STRING), never the command line.
// Writes every block of a shared set in an order of its own, reading back random blocks of the set as it goes.
// A read either finds the whole block (hash verified) or nothing; anything else is a failure.
// Prints one line per failure and "ok WRITES READS MISSING" at the end; exits 1 on any failure.
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: Coffer.Plugins.AzBlob.Stress LOCATION ROUNDS SEED");
    return 2;
}

var location = args[0];
var rounds = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var seed = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
var connectionString = Environment.GetEnvironmentVariable("AZBLOB_CONNECTION_STRING")
    ?? throw new InvalidOperationException("AZBLOB_CONNECTION_STRING is not set");

using var catalog = ConnectorCatalog.Load([new PluginSource("azblob", RepositoryPaths.BundledPluginEntry("AzBlob"))]);
if (catalog.Errors.Count > 0)
{
    Console.Error.WriteLine(string.Join('\n', catalog.Errors));
    return 2;
}

await using var volume = await catalog.CreateVolumeAsync(
    new ConnectorConfiguration(location, new Dictionary<string, string> { ["connection_string"] = connectionString }),
    new VolumeSettings());

var blocks = SharedBlocks.Create();
var random = new Random(seed);
var order = Enumerable.Range(0, blocks.Count).OrderBy(_ => random.Next()).ToArray();
var failures = 0;
int writes = 0, reads = 0, missing = 0;
for (var round = 0; round < rounds; round++)
{
    foreach (var i in order)
    {
        var (hash, data) = blocks[i];
        await volume.WriteAsync(hash, data);
        writes++;

        // Read one block just written and one block anywhere in the set, concurrently with the other process.
        foreach (var j in new[] { i, random.Next(blocks.Count) })
        {
            var (readHash, readData) = blocks[j];
            using var buffer = new MemoryStream();
            try
            {
                var count = await volume.ReadAsync(readHash, buffer);
                reads++;
                var got = buffer.ToArray();
                if (count != readData.Length || !got.AsSpan().SequenceEqual(readData))
                {
                    failures++;
                    Console.WriteLine($"FAIL partial or wrong block {readHash}: {count} bytes, md5 {Convert.ToHexStringLower(MD5.HashData(got))}");
                }
            }
            catch (NotFoundException) when (j != i)
            {
                missing++; // not written yet by either process
            }
        }
    }
}

// Everything written by this process must be there and whole.
foreach (var (hash, data) in blocks)
{
    var comparison = await volume.CompareAsync(hash, data);
    if (comparison != BlockComparison.Identical)
    {
        failures++;
        Console.WriteLine($"FAIL block {hash} is {comparison} at the end");
    }
}

Console.WriteLine($"ok {writes} {reads} {missing}");
return failures == 0 ? 0 : 1;

/// <summary>The blocks both processes write: sizes from 1 byte to 6 MiB, the same in every process.</summary>
internal static class SharedBlocks
{
    public static List<(string Hash, byte[] Data)> Create()
    {
        var blocks = new List<(string, byte[])>();
        var random = new Random(20261125);
        int[] sizes = [1, 1000, 64 * 1024, 1024 * 1024, 3 * 1024 * 1024, 6 * 1024 * 1024];
        for (var i = 0; i < 18; i++)
        {
            var data = new byte[sizes[i % sizes.Length] + i];
            random.NextBytes(data);
            blocks.Add((BlockHash.Compute(data), data));
        }

        return blocks;
    }
}
