using System.Security.Cryptography;
using System.Text;

namespace Coffer.Packager.Tests.Support;

/// <summary>A digest of a directory tree: every path, its kind, link target and content (times left out).</summary>
public static class InstallTree
{
    public static string Hash(string root)
    {
        if (!Directory.Exists(root))
        {
            return "absent";
        }

        var text = new StringBuilder();
        foreach (var info in new DirectoryInfo(root).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                     .OrderBy(i => i.FullName, StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(root, info.FullName);
            if (info.LinkTarget is not null)
            {
                text.Append($"link {relative} -> {info.LinkTarget}\n");
            }
            else if (info is DirectoryInfo)
            {
                text.Append($"dir {relative}\n");
            }
            else
            {
                text.Append($"file {relative} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(info.FullName)))}\n");
            }
        }

        return text.ToString();
    }
}
