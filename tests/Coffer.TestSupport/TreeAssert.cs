using NUnit.Framework;
namespace Coffer.TestSupport;

/// <summary>Builds test trees and compares two trees: content, modes, mtimes, symlink targets.</summary>
internal static class TreeAssert
{
    public static readonly DateTime OldTime = new(2020, 5, 17, 10, 11, 12, 345, DateTimeKind.Utc);

    /// <summary>A tree with nested directories, odd modes, old mtimes, symlinks, an empty file and a few MiB of data.</summary>
    public static void BuildSample(string root, int seed = 1)
    {
        var random = new Random(seed);
        Directory.CreateDirectory(Path.Combine(root, "docs", "deep", "er"));
        Directory.CreateDirectory(Path.Combine(root, "empty-dir"));
        Write(root, "readme.txt", "hello coffer\n"u8.ToArray(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Write(root, "docs/empty", [], UnixFileMode.UserRead);
        Write(root, "docs/deep/er/random.bin", Bytes(random, 3_500_000), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Write(root, "docs/text.log", System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("a fairly compressible line of log text\n", 50_000))), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Write(root, "run.sh", "#!/bin/sh\necho hi\n"u8.ToArray(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        File.CreateSymbolicLink(Path.Combine(root, "link-to-readme"), "readme.txt");
        File.CreateSymbolicLink(Path.Combine(root, "docs", "dangling"), "../nowhere/at/all");
        Directory.CreateSymbolicLink(Path.Combine(root, "docs-link"), "docs");
        foreach (var directory in new[] { "docs/deep/er", "docs/deep", "docs", "empty-dir" })
        {
            Directory.SetLastWriteTimeUtc(Path.Combine(root, directory), OldTime.AddDays(-directory.Length));
        }

        File.SetUnixFileMode(Path.Combine(root, "empty-dir"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
    }

    public static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    public static void Write(string root, string relative, byte[] content, UnixFileMode mode)
    {
        var path = Path.Combine(root, relative);
        File.WriteAllBytes(path, content);
        File.SetUnixFileMode(path, mode);
        File.SetLastWriteTimeUtc(path, OldTime.AddMinutes(relative.Length));
    }

    /// <summary>Asserts <paramref name="actual"/> holds exactly what <paramref name="expected"/> holds.</summary>
    public static void AreEqual(string expected, string actual, bool compareRootMtime = true)
    {
        var left = Describe(expected);
        var right = Describe(actual);
        if (!compareRootMtime)
        {
            left.Remove("");
            right.Remove("");
        }

        Assert.That(right.Keys, Is.EquivalentTo(left.Keys));
        foreach (var (path, description) in left)
        {
            Assert.That(right[path], Is.EqualTo(description), path);
        }
    }

    private static Dictionary<string, string> Describe(string root)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var rootInfo = new DirectoryInfo(root);
        result[""] = $"dir {rootInfo.UnixFileMode} {rootInfo.LastWriteTimeUtc:O}";
        foreach (var info in rootInfo.EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var relative = Path.GetRelativePath(root, info.FullName);
            if (info.LinkTarget is { } target)
            {
                result[relative] = $"link {target}";
            }
            else if (info is DirectoryInfo directory)
            {
                result[relative] = $"dir {directory.UnixFileMode} {directory.LastWriteTimeUtc:O}";
            }
            else
            {
                var file = (FileInfo)info;
                var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file.FullName)));
                result[relative] = $"file {file.UnixFileMode} {file.LastWriteTimeUtc:O} {file.Length} {hash}";
            }
        }

        return result;
    }
}
