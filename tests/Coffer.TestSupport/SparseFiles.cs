using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Coffer.TestSupport;

/// <summary>Sparse files for tests: made with holes where nothing is written, and measured by what the disk holds.</summary>
internal static class SparseFiles
{
    private const long MiB = 1024 * 1024;

    /// <summary>The sample's data runs: a leading hole of 1 MiB, two runs of 192 KiB with a hole between, a trailing hole.</summary>
    public static IReadOnlyList<(long Offset, int Length)> SampleRuns { get; } = [(1 * MiB, 192 * 1024), (4 * MiB, 192 * 1024)];

    /// <summary>The sample's length: 8 MiB, of which <see cref="SampleDataBytes"/> are data.</summary>
    public const long SampleLength = 8 * MiB;

    /// <summary>How many bytes of the sample are data.</summary>
    public const long SampleDataBytes = 2 * 192 * 1024;

    /// <summary>
    /// Writes into <paramref name="directory"/> <c>holes.img</c> (<see cref="SampleRuns"/> of random bytes in
    /// <see cref="SampleLength"/>: a leading, a middle and a trailing hole) and <c>all-hole.img</c> (2 MiB, no data).
    /// </summary>
    public static void WriteSample(string directory, int seed = 17)
    {
        Directory.CreateDirectory(directory);
        Write(Path.Combine(directory, "holes.img"), SampleLength, SampleRuns, seed);
        Write(Path.Combine(directory, "all-hole.img"), 2 * MiB, [], seed);
    }

    /// <summary>Writes a file of <paramref name="length"/> bytes holding random data at <paramref name="runs"/> only: the rest is holes.</summary>
    public static void Write(string path, long length, IEnumerable<(long Offset, int Length)> runs, int seed)
    {
        var random = new Random(seed);
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        foreach (var (offset, count) in runs)
        {
            var data = new byte[count];
            random.NextBytes(data);
            file.Position = offset;
            file.Write(data);
        }

        file.SetLength(length);
    }

    /// <summary>The bytes the file occupies on disk (<c>st_blocks</c> × 512).</summary>
    public static long AllocatedBytes(string path)
    {
        var info = new ProcessStartInfo("stat") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("%b");
        info.ArgumentList.Add(path);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return long.Parse(output.Trim(), CultureInfo.InvariantCulture) * 512;
    }

    /// <summary>The SHA-256 of a file's content, hex.</summary>
    public static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(file));
    }
}
