using System.Diagnostics;

namespace Coffer.TestSupport;

/// <summary>
/// A tree whose names are bytes, built and listed with Python (its byte paths and <c>dir_fd</c> calls), not
/// with the code under test: names that are not UTF-8 in files, a directory, a symlink and a symlink's
/// target, and a file at a path over PATH_MAX (4096 bytes; each component is under NAME_MAX).
/// </summary>
public static class RawTree
{
    /// <summary>The invalid names: a byte never in UTF-8, a lone continuation byte, an overlong '/', a truncated euro sign.</summary>
    private const string Build = """
        import os, sys
        root = os.open(sys.argv[1].encode(), os.O_RDONLY | os.O_DIRECTORY)
        def write(dirfd, name, data):
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640, dir_fd=dirfd)
            os.write(fd, data)
            os.close(fd)
        write(root, b'f\xffo', b'0xff')
        write(root, b'lone\x80', b'a lone continuation byte')
        os.mkdir(b'over\xc0\xaf', dir_fd=root)
        sub = os.open(b'over\xc0\xaf', os.O_RDONLY | os.O_DIRECTORY, dir_fd=root)
        write(sub, b'cut\xe2\x82', b'a truncated euro sign')
        os.symlink(b'../t\xc0\xafrget\x80', b'link\xff', dir_fd=sub)
        os.close(sub)
        deep = os.dup(root)
        for level in range(17):
            name = b'%02d' % level + b'd' * 250
            os.mkdir(name, dir_fd=deep)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=deep)
            os.close(deep)
            deep = inner
        write(deep, b'deep\xff.txt', b'below PATH_MAX')
        os.close(deep)
        """;

    private const string List = """
        import os, sys, stat, hashlib
        lines = []
        for top, dirs, files, dirfd in os.fwalk(b'.', dir_fd=os.open(sys.argv[1].encode(), os.O_RDONLY | os.O_DIRECTORY)):
            for name in dirs + files:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                what = ''
                if stat.S_ISREG(st.st_mode):
                    fd = os.open(name, os.O_RDONLY, dir_fd=dirfd)
                    what = hashlib.sha256(os.read(fd, 1 << 20)).hexdigest()
                    os.close(fd)
                elif stat.S_ISLNK(st.st_mode):
                    what = '-> ' + os.readlink(name, dir_fd=dirfd).hex()
                mtime = st.st_mtime_ns // 1000 if not stat.S_ISDIR(st.st_mode) else 0
                lines.append('%s %o %d %s' % ((top + b'/' + name)[2:].hex(), st.st_mode, mtime, what))
        print('\n'.join(sorted(lines)))
        """;

    private const string TarNames = """
        import sys, tarfile
        print('\n'.join(m.name.encode('utf-8', 'surrogateescape').hex() for m in tarfile.open(sys.argv[1])))
        """;

    /// <summary>Bytes of a path the tree holds, over 4096 bytes long.</summary>
    public const int DeepPathBytes = (17 * 253) + 9;

    /// <summary>Creates the tree's entries in the existing directory <paramref name="root"/>.</summary>
    public static void Create(string root) => Python(Build, root);

    /// <summary>
    /// One line per entry under <paramref name="root"/>, sorted: the relative path's bytes in hex, the mode, the
    /// mtime in microseconds (not for directories, whose listing changes it), and a file's SHA-256 or a link's target.
    /// </summary>
    public static string Listing(string root) => Python(List, root);

    /// <summary>The entries' names in the tar file <paramref name="tar"/>, one per line, each its bytes in hex (Python's tarfile).</summary>
    public static string TarListing(string tar) => Python(TarNames, tar);

    /// <summary>The bytes (hex) of the path over PATH_MAX, relative to the tree's root.</summary>
    public static string DeepPathHex =>
        string.Concat(Enumerable.Range(0, 17).Select(level => Convert.ToHexStringLower(System.Text.Encoding.ASCII.GetBytes($"{level:00}{new string('d', 250)}/"))))
        + "64656570ff2e747874";

    private static string Python(string script, string root)
    {
        var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(root);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output.Result : throw new InvalidOperationException($"python3 failed on {root}: {error}");
    }
}
