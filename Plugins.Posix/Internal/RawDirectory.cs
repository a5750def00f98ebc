using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Coffer.Abstractions;
using Coffer.Plumbing;
using Microsoft.Win32.SafeHandles;

namespace Coffer.Plugins.Posix.Internal;

/// <summary>
/// An open directory, and every operation on the names in it by its descriptor (<c>openat</c>, <c>statx</c>,
/// <c>mkdirat</c>, <c>renameat</c>, …). Two things need this: names are read and passed as their raw bytes
/// (<see cref="RawName"/>: .NET's directory APIs decode them lossily), and no system call gets a whole path,
/// so a tree deeper than PATH_MAX (4096 bytes) is walked one component at a time.
/// </summary>
internal sealed partial class RawDirectory : IDisposable
{
    /// <summary>The name of a directory itself, for the operations that take a name.</summary>
    public const string Itself = ".";

    private const int OReadOnly = 0;
    private const int OReadWrite = 2;
    private const int OCreate = 0x40;
    private const int OExclusive = 0x80;
    private const int ONonBlock = 0x800;
    private const int ODirectory = 0x10000;
    private const int ONoFollow = 0x20000;
    private const int OCloseOnExec = 0x80000;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtRemoveDir = 0x200;
    private const int ELOOP = 40;
    private const int AllPermissions = 0x1FF; // 0777, less the umask, as mkdir(1)

    private RawDirectory(SafeFileHandle handle, string path)
    {
        Handle = handle;
        Path = path;
    }

    /// <summary>The descriptor.</summary>
    public SafeFileHandle Handle { get; }

    /// <summary>The directory's path, for messages only: it is never passed to the system.</summary>
    public string Path { get; }

    /// <summary>The path of <paramref name="name"/> in this directory, for messages.</summary>
    public string PathOf(string name) => name == Itself ? Path : System.IO.Path.Join(Path, name);

    /// <summary>Opens the directory at <paramref name="path"/> (the root of a source or destination).</summary>
    public static RawDirectory Open(string path)
    {
        var fd = open(path, OReadOnly | ODirectory | OCloseOnExec);
        return fd >= 0 ? new RawDirectory(new SafeFileHandle(fd, ownsHandle: true), path) : throw Native.Error(Marshal.GetLastPInvokeError(), "open", path);
    }

    /// <summary>
    /// Opens the directory that holds <paramref name="relativePath"/> under <paramref name="root"/>, checking that
    /// every parent is a real directory (not a link), and optionally creating missing parents.
    /// </summary>
    /// <returns>The parent, and the last segment's name in it (<see cref="Itself"/> for the root, <c>""</c>).</returns>
    /// <exception cref="PathEscapesRootException">The path is not clean, or a parent is a symlink.</exception>
    /// <exception cref="NotFoundException">A parent is missing and <paramref name="createParents"/> is false.</exception>
    public static (RawDirectory Parent, string Name) OpenParent(string root, string relativePath, bool createParents)
    {
        var segments = RelativePath.Split(relativePath);
        var current = Open(root);
        try
        {
            for (var i = 0; i < segments.Length - 1; i++)
            {
                var next = current.TryOpenDirectory(segments[i], out var errno);
                if (next is null && errno == Native.ENOENT && createParents)
                {
                    current.MakeDirectory(segments[i]);
                    next = current.TryOpenDirectory(segments[i], out errno);
                }

                if (next is null)
                {
                    var parent = string.Join('/', segments[..(i + 1)]);
                    throw errno switch
                    {
                        Native.ENOENT => new NotFoundException($"'{parent}' does not exist under {root}"),
                        ELOOP or Native.ENOTDIR when current.Stat(segments[i]) is { IsSymlink: true } =>
                            new PathEscapesRootException($"'{relativePath}' goes through the symlink '{parent}', which could lead outside {root}"),
                        Native.ENOTDIR => new IOException($"cannot use '{relativePath}': '{parent}' under {root} is not a directory"),
                        _ => Native.Error(errno, "open", current.PathOf(segments[i])),
                    };
                }

                current.Dispose();
                current = next;
            }

            return (current, segments.Length == 0 ? Itself : segments[^1]);
        }
        catch
        {
            current.Dispose();
            throw;
        }
    }

    /// <summary>Opens the directory <paramref name="name"/> in this one, never through a symlink.</summary>
    /// <returns>The directory, or null with the errno (ELOOP or ENOTDIR for a link).</returns>
    public RawDirectory? TryOpenDirectory(string name, out int errno)
    {
        var fd = openat(Handle, name, OReadOnly | ODirectory | ONoFollow | OCloseOnExec, 0);
        errno = fd >= 0 ? 0 : Marshal.GetLastPInvokeError();
        return fd >= 0 ? new RawDirectory(new SafeFileHandle(fd, ownsHandle: true), PathOf(name)) : null;
    }

    /// <summary>The names in this directory (not <c>.</c> and <c>..</c>), read by their bytes, in no particular order.</summary>
    public List<string> ReadNames()
    {
        var names = new List<string>();

        // Rented, not allocated: a walk lists every directory, and a fresh 32 KiB buffer each time was most of
        // what a backup of the SDK tree allocated (the workstation GC rarely collects in a run that short, so
        // every byte allocated stays in the peak RSS: bench/README.md, "Backup peak RSS").
        var buffer = ArrayPool<byte>.Shared.Rent(32 * 1024);
        try
        {
            return ReadNames(names, buffer);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private List<string> ReadNames(List<string> names, byte[] buffer)
    {
        while (true)
        {
            nint read;
            unsafe
            {
                fixed (byte* p = buffer)
                {
                    read = getdents64(Handle, p, buffer.Length);
                }
            }

            if (read < 0)
            {
                throw Native.Error(Marshal.GetLastPInvokeError(), "list", Path);
            }

            if (read == 0)
            {
                return names;
            }

            // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), then the NUL-terminated name.
            for (var offset = 0; offset < read;)
            {
                var record = buffer.AsSpan(offset, BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset + 16)));
                var name = record[19..];
                name = name[..name.IndexOf((byte)0)];
                if (!(name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)))
                {
                    names.Add(RawName.Decode(name));
                }

                offset += record.Length;
            }
        }
    }

    /// <summary>Stats <paramref name="name"/> without following a link.</summary>
    /// <returns>The stat, or null when nothing is there.</returns>
    /// <exception cref="IOException">Any other failure.</exception>
    public FileStat? Stat(string name)
    {
        var stat = Native.TryStatAt(Handle, name, out var errno);
        return stat is null && errno is not (Native.ENOENT or Native.ENOTDIR) ? throw Native.Error(errno, "stat", PathOf(name)) : stat;
    }

    /// <summary>Stats <paramref name="name"/> without following a link.</summary>
    /// <returns>The stat, or null with the errno.</returns>
    public FileStat? TryStat(string name, out int errno) => Native.TryStatAt(Handle, name, out errno);

    /// <summary>Opens the file <paramref name="name"/> for reading, never through a link, never waiting on a fifo.</summary>
    public SafeFileHandle OpenFile(string name)
    {
        var fd = openat(Handle, name, OReadOnly | ONoFollow | ONonBlock | OCloseOnExec, 0);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Native.Error(Marshal.GetLastPInvokeError(), "read", PathOf(name));
    }

    /// <summary>Creates the new file <paramref name="name"/> (it must not exist) for writing.</summary>
    public SafeFileHandle CreateFile(string name, UnixFileMode mode)
    {
        var fd = openat(Handle, name, OReadWrite | OCreate | OExclusive | ONoFollow | OCloseOnExec, (int)mode);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Native.Error(Marshal.GetLastPInvokeError(), "create", PathOf(name));
    }

    /// <summary>The target of the symlink <paramref name="name"/>, its bytes mapped as names are.</summary>
    public string ReadLink(string name)
    {
        for (var size = 256; ; size *= 4)
        {
            var buffer = new byte[size];
            nint read;
            unsafe
            {
                fixed (byte* p = buffer)
                {
                    read = readlinkat(Handle, name, p, size);
                }
            }

            if (read < 0)
            {
                throw Native.Error(Marshal.GetLastPInvokeError(), "read the link", PathOf(name));
            }

            if (read < size)
            {
                return RawName.Decode(buffer.AsSpan(0, (int)read));
            }
        }
    }

    /// <summary>Creates the directory <paramref name="name"/>; one that exists already is fine.</summary>
    public void MakeDirectory(string name)
    {
        if (mkdirat(Handle, name, AllPermissions) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != Native.EEXIST)
        {
            throw Native.Error(errno, "create the directory", PathOf(name));
        }
    }

    /// <summary>Removes <paramref name="name"/> (a link itself, never what it points to); a directory must be empty.</summary>
    public void Delete(string name, bool directory)
    {
        if (unlinkat(Handle, name, directory ? AtRemoveDir : 0) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != Native.ENOENT)
        {
            throw Native.Error(errno, "remove", PathOf(name));
        }
    }

    /// <summary>Renames <paramref name="from"/> over <paramref name="to"/>, replacing whatever is there (a link is not followed).</summary>
    public void Rename(string from, string to)
    {
        if (renameat(Handle, from, Handle, to) != 0)
        {
            throw Native.Error(Marshal.GetLastPInvokeError(), "rename to", PathOf(to));
        }
    }

    /// <summary>Creates the symlink <paramref name="name"/> pointing to <paramref name="target"/> (its bytes mapped as names are).</summary>
    public void Symlink(string target, string name)
    {
        if (symlinkat(target, Handle, name) != 0)
        {
            throw Native.Error(Marshal.GetLastPInvokeError(), "create the symlink", PathOf(name));
        }
    }

    /// <summary>Makes <paramref name="name"/> a second name of <paramref name="existing"/> in <paramref name="from"/>.</summary>
    /// <returns>False when <paramref name="name"/> already exists.</returns>
    public bool TryLink(RawDirectory from, string existing, string name)
    {
        if (linkat(from.Handle, existing, Handle, name, 0) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == Native.EEXIST ? false : throw Native.Error(errno, "link", PathOf(name));
    }

    /// <summary>Creates a special file (fifo, socket, device) with the type bits of <paramref name="type"/>.</summary>
    /// <exception cref="IOException">It could not be created (EPERM for a device when not root).</exception>
    public void MakeNode(string name, uint type, long device)
    {
        if (mknodat(Handle, name, type | 0x180 /* 0600 until its mode is set */, (ulong)device) != 0)
        {
            throw Native.Error(Marshal.GetLastPInvokeError(), "create", PathOf(name));
        }
    }

    /// <summary>Sets the owner and group of <paramref name="name"/> itself (a link, not its target).</summary>
    public void SetOwner(string name, long userId, long groupId)
    {
        if (fchownat(Handle, name, (uint)userId, (uint)groupId, AtSymlinkNoFollow) != 0)
        {
            throw Native.Error(Marshal.GetLastPInvokeError(), "set the owner of", PathOf(name));
        }
    }

    /// <summary>Sets the permission bits (setuid, setgid and sticky included) of <paramref name="name"/>, which is not a link.</summary>
    public void SetMode(string name, UnixFileMode mode)
    {
        if (fchmodat(Handle, name, (uint)mode, 0) != 0)
        {
            throw Native.Error(Marshal.GetLastPInvokeError(), "set the mode of", PathOf(name));
        }
    }

    /// <summary>Sets the mtime (and atime) of <paramref name="name"/> itself, not of what a link points to.</summary>
    public void SetModifiedTime(string name, DateTimeOffset time)
    {
        Span<long> times = stackalloc long[4];
        Native.FillTimes(times, time);
        unsafe
        {
            fixed (long* p = times)
            {
                if (utimensat(Handle, name, p, AtSymlinkNoFollow) != 0)
                {
                    throw Native.Error(Marshal.GetLastPInvokeError(), "set the mtime of", PathOf(name));
                }
            }
        }
    }

    /// <summary>
    /// A short path that reaches <paramref name="name"/> through this directory's descriptor, for the extended
    /// attribute calls, which have no <c>*at</c> form before Linux 6.13: <c>/proc/self/fd/N/NAME</c>.
    /// </summary>
    public string ProcPath(string name) => $"/proc/self/fd/{Handle.DangerousGetHandle()}/{name}";

    public void Dispose() => Handle.Dispose();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int openat(SafeFileHandle dirfd, string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint getdents64(SafeFileHandle fd, byte* buffer, nint length);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static unsafe partial nint readlinkat(SafeFileHandle dirfd, string path, byte* buffer, nint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int mkdirat(SafeFileHandle dirfd, string path, int mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int unlinkat(SafeFileHandle dirfd, string path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int renameat(SafeFileHandle olddirfd, string oldpath, SafeFileHandle newdirfd, string newpath);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int symlinkat(string target, SafeFileHandle dirfd, string path);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int linkat(SafeFileHandle olddirfd, string oldpath, SafeFileHandle newdirfd, string newpath, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int mknodat(SafeFileHandle dirfd, string path, uint mode, ulong device);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int fchownat(SafeFileHandle dirfd, string path, uint owner, uint group, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int fchmodat(SafeFileHandle dirfd, string path, uint mode, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static unsafe partial int utimensat(SafeFileHandle dirfd, string path, long* times, int flags);
}
