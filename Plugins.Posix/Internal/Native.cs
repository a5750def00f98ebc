using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Coffer.Plugins.Posix.Internal;

/// <summary>What <c>statx</c> tells about one path, without following a final symlink.</summary>
internal readonly record struct FileStat(
    uint Mode,
    uint UserId,
    uint GroupId,
    ulong Inode,
    long Size,
    DateTimeOffset ModifiedTime,
    uint DeviceMajor,
    uint DeviceMinor,
    uint LinkCount = 1,
    uint RdevMajor = 0,
    uint RdevMinor = 0)
{
    private const uint TypeMask = 0xF000;

    public bool IsDirectory => (Mode & TypeMask) == 0x4000;

    public bool IsRegularFile => (Mode & TypeMask) == 0x8000;

    public bool IsSymlink => (Mode & TypeMask) == 0xA000;

    /// <summary>The permission bits, including setuid, setgid and sticky.</summary>
    public UnixFileMode Permissions => (UnixFileMode)(Mode & 0xFFF);

    /// <summary>The file type bits (<c>S_IFMT</c>).</summary>
    public uint Type => Mode & TypeMask;

    /// <summary>The device number of a device file, encoded as glibc's <c>makedev</c> does.</summary>
    public long DeviceNumber => Native.MakeDevice(RdevMajor, RdevMinor);

    /// <summary>A word for what the entry is, for messages about special files.</summary>
    public string TypeName => (Mode & TypeMask) switch
    {
        0x1000 => "fifo",
        0x2000 => "character device",
        0x6000 => "block device",
        0xC000 => "socket",
        _ => "special file",
    };
}

/// <summary>
/// The few libc calls .NET does not expose: inode and device numbers, nanosecond mtimes on links,
/// exclusive hard links. <c>statx</c> is used because its struct layout is the
/// same on every Linux architecture, unlike <c>struct stat</c>.
/// </summary>
internal static partial class Native
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7FF;
    private const int StatxSize = 256;

    /// <summary>errno: no such file or directory.</summary>
    public const int ENOENT = 2;

    /// <summary>errno: file exists.</summary>
    public const int EEXIST = 17;

    /// <summary>errno: not a directory.</summary>
    public const int ENOTDIR = 20;

    /// <summary>errno: is a directory.</summary>
    public const int EISDIR = 21;

    /// <summary>errno: read-only filesystem.</summary>
    public const int EROFS = 30;

    /// <summary>errno: a buffer was too small (the value grew meanwhile).</summary>
    public const int ERANGE = 34;

    /// <summary>errno: no such attribute.</summary>
    public const int ENODATA = 61;

    /// <summary>errno: the filesystem does not support the operation (no extended attributes).</summary>
    public const int ENOTSUP = 95;

    /// <summary>The extended attribute names of <paramref name="path"/> itself (not a link's target).</summary>
    /// <returns>The names, or empty when the filesystem has no extended attributes.</returns>
    public static IReadOnlyList<string> ListXattrs(string path)
    {
        var buffer = ReadSized(size =>
        {
            unsafe
            {
                fixed (byte* p = size.Buffer)
                {
                    return llistxattr(path, size.Buffer is null ? null : p, size.Buffer?.Length ?? 0);
                }
            }
        }, "list the extended attributes of", path);
        if (buffer is null)
        {
            return [];
        }

        return System.Text.Encoding.UTF8.GetString(buffer).Split('\0', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The value of one extended attribute, or null when it vanished meanwhile.</summary>
    public static byte[]? GetXattr(string path, string name) => ReadSized(size =>
    {
        unsafe
        {
            fixed (byte* p = size.Buffer)
            {
                return lgetxattr(path, name, size.Buffer is null ? null : p, size.Buffer?.Length ?? 0);
            }
        }
    }, $"read the extended attribute {name} of", path);

    /// <summary>Sets one extended attribute on <paramref name="path"/> itself.</summary>
    /// <returns>False when the filesystem does not support extended attributes.</returns>
    public static bool SetXattr(string path, string name, ReadOnlySpan<byte> value)
    {
        unsafe
        {
            fixed (byte* p = value)
            {
                if (lsetxattr(path, name, p, value.Length, 0) == 0)
                {
                    return true;
                }
            }
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == ENOTSUP ? false : throw Error(errno, $"set the extended attribute {name} of", path);
    }

    // The xattr calls share one protocol: ask the size with a null buffer, then read; retry if it grew.
    private static byte[]? ReadSized(Func<SizedBuffer, nint> call, string verb, string path)
    {
        while (true)
        {
            var size = call(default);
            if (size < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno is ENOTSUP or ENODATA ? null : throw Error(errno, verb, path);
            }

            var buffer = new byte[size];
            var read = size == 0 ? 0 : call(new SizedBuffer(buffer));
            if (read >= 0)
            {
                return buffer[..(int)read];
            }

            var error = Marshal.GetLastPInvokeError();
            if (error != ERANGE)
            {
                return error is ENOTSUP or ENODATA ? null : throw Error(error, verb, path);
            }
        }
    }

    private readonly record struct SizedBuffer(byte[]? Buffer);

    /// <summary>Stats <paramref name="path"/> without following a final link.</summary>
    /// <returns>The stat, or null with the errno when it failed.</returns>
    public static FileStat? TryLstat(string path, out int errno)
    {
        Span<byte> buffer = stackalloc byte[StatxSize];
        unsafe
        {
            fixed (byte* p = buffer)
            {
                errno = statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, p) == 0 ? 0 : Marshal.GetLastPInvokeError();
            }
        }

        return errno == 0 ? ParseStatx(buffer) : null;
    }

    /// <summary>
    /// Stats <paramref name="name"/> in the open <paramref name="directory"/> without following a final link.
    /// </summary>
    /// <returns>The stat, or null with the errno when it failed.</returns>
    public static FileStat? TryStatAt(Microsoft.Win32.SafeHandles.SafeFileHandle directory, string name, out int errno)
    {
        Span<byte> buffer = stackalloc byte[StatxSize];
        unsafe
        {
            fixed (byte* p = buffer)
            {
                errno = statxAt(directory, name, AtSymlinkNoFollow, StatxBasicStats, p) == 0 ? 0 : Marshal.GetLastPInvokeError();
            }
        }

        return errno == 0 ? ParseStatx(buffer) : null;
    }

    private static FileStat ParseStatx(ReadOnlySpan<byte> buffer)
    {
        var seconds = BinaryPrimitives.ReadInt64LittleEndian(buffer[112..]);
        var nanoseconds = BinaryPrimitives.ReadUInt32LittleEndian(buffer[120..]);
        return new FileStat(
            Mode: BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]),
            UserId: BinaryPrimitives.ReadUInt32LittleEndian(buffer[20..]),
            GroupId: BinaryPrimitives.ReadUInt32LittleEndian(buffer[24..]),
            Inode: BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]),
            Size: BinaryPrimitives.ReadInt64LittleEndian(buffer[40..]),
            ModifiedTime: DateTimeOffset.UnixEpoch.AddTicks((seconds * TimeSpan.TicksPerSecond) + (nanoseconds / 100)),
            DeviceMajor: BinaryPrimitives.ReadUInt32LittleEndian(buffer[136..]),
            DeviceMinor: BinaryPrimitives.ReadUInt32LittleEndian(buffer[140..]),
            LinkCount: BinaryPrimitives.ReadUInt32LittleEndian(buffer[16..]),
            RdevMajor: BinaryPrimitives.ReadUInt32LittleEndian(buffer[128..]),
            RdevMinor: BinaryPrimitives.ReadUInt32LittleEndian(buffer[132..]));
    }

    /// <summary>Stats <paramref name="path"/> without following a final link.</summary>
    /// <returns>The stat, or null when nothing is there.</returns>
    /// <exception cref="IOException">Any other failure.</exception>
    public static FileStat? Lstat(string path)
    {
        var stat = TryLstat(path, out var errno);
        if (stat is null && errno is not (ENOENT or ENOTDIR))
        {
            throw Error(errno, "stat", path);
        }

        return stat;
    }

    /// <summary>Sets the mtime (and atime) of <paramref name="path"/> itself, not of what a link points to.</summary>
    public static void SetModifiedTime(string path, DateTimeOffset time)
    {
        Span<long> times = stackalloc long[4];
        FillTimes(times, time);
        unsafe
        {
            fixed (long* p = times)
            {
                if (utimensat(AtFdCwd, path, p, AtSymlinkNoFollow) != 0)
                {
                    throw Error(Marshal.GetLastPInvokeError(), "set the mtime of", path);
                }
            }
        }
    }

    /// <summary>
    /// Sets the mtime (and atime) of an open file: one <c>futimens</c>, no path lookup. Call it after the
    /// last write, which would move the mtime again.
    /// </summary>
    public static void SetModifiedTime(Microsoft.Win32.SafeHandles.SafeFileHandle file, string path, DateTimeOffset time)
    {
        Span<long> times = stackalloc long[4];
        FillTimes(times, time);
        unsafe
        {
            fixed (long* p = times)
            {
                if (futimens(file, p) != 0)
                {
                    throw Error(Marshal.GetLastPInvokeError(), "set the mtime of", path);
                }
            }
        }
    }

    /// <summary>Sets the permission bits of an open file: one <c>fchmod</c>, no path lookup.</summary>
    public static void SetMode(Microsoft.Win32.SafeHandles.SafeFileHandle file, string path, UnixFileMode mode)
    {
        if (fchmod(file, (uint)mode) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "set the mode of", path);
        }
    }

    /// <summary>Sets the owner and group of an open file: one <c>fchown</c>, no path lookup.</summary>
    public static void SetOwner(Microsoft.Win32.SafeHandles.SafeFileHandle file, string path, long userId, long groupId)
    {
        if (fchown(file, (uint)userId, (uint)groupId) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "set the owner of", path);
        }
    }

    /// <summary>Fills the two timespecs (atime, mtime) of utimensat and futimens with <paramref name="time"/>.</summary>
    public static void FillTimes(Span<long> times, DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var remainder);
        if (remainder < 0)
        {
            seconds--;
            remainder += TimeSpan.TicksPerSecond;
        }

        times[0] = times[2] = seconds;
        times[1] = times[3] = remainder * 100;
    }

    /// <summary>Makes <paramref name="newPath"/> a second name of <paramref name="existingPath"/>; fails if it exists.</summary>
    /// <returns>False when <paramref name="newPath"/> already exists.</returns>
    public static bool TryLink(string existingPath, string newPath)
    {
        if (link(existingPath, newPath) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == EEXIST ? false : throw Error(errno, "link", newPath);
    }

    /// <summary>Encodes a device number as glibc's <c>makedev</c> does.</summary>
    public static long MakeDevice(uint major, uint minor) =>
        (long)(((ulong)(major & 0xFFFFF000) << 32) | ((ulong)(major & 0xFFF) << 8) | ((ulong)(minor & 0xFFFFFF00) << 12) | (minor & 0xFF));

    /// <summary>Whether this process runs as root (may make devices, set owners and trusted attributes).</summary>
    public static bool IsRoot { get; } = geteuid() == 0;

    /// <summary>Creates a special file (fifo, socket, device) with the type bits of <paramref name="type"/>.</summary>
    /// <exception cref="IOException">It could not be created (EPERM for a device when not root).</exception>
    public static void MakeNode(string path, uint type, long device)
    {
        if (mknod(path, type | 0x180 /* 0600 until its mode is set */, (ulong)device) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "create", path);
        }
    }

    /// <summary>Sets the owner and group of <paramref name="path"/> itself (a link, not its target).</summary>
    public static void SetOwner(string path, long userId, long groupId)
    {
        if (lchown(path, (uint)userId, (uint)groupId) != 0)
        {
            throw Error(Marshal.GetLastPInvokeError(), "set the owner of", path);
        }
    }

    /// <summary>The name of user <paramref name="id"/> on this machine, or null.</summary>
    public static string? UserName(long id) => Lookup(("u", id.ToString(System.Globalization.CultureInfo.InvariantCulture)), () => EntryName(getpwuid((uint)id)));

    /// <summary>The name of group <paramref name="id"/> on this machine, or null.</summary>
    public static string? GroupName(long id) => Lookup(("g", id.ToString(System.Globalization.CultureInfo.InvariantCulture)), () => EntryName(getgrgid((uint)id)));

    /// <summary>The id of user <paramref name="name"/> on this machine, or null when there is none.</summary>
    public static long? UserId(string name) => Lookup(("U", name), () => EntryId(getpwnam(name)));

    /// <summary>The id of group <paramref name="name"/> on this machine, or null when there is none.</summary>
    public static long? GroupId(string name) => Lookup(("G", name), () => EntryId(getgrnam(name)));

    // getpwuid and friends return a static buffer: one caller at a time, and each answer kept (a tree has few owners).
    private static readonly Dictionary<(string, string), object?> NameCache = [];

    private static T? Lookup<T>((string, string) key, Func<T?> lookup)
    {
        lock (NameCache)
        {
            if (!NameCache.TryGetValue(key, out var found))
            {
                found = NameCache[key] = lookup();
            }

            return (T?)found;
        }
    }

    // struct passwd and struct group both start with the name pointer and a password pointer, then the id.
    private static string? EntryName(IntPtr entry) => entry == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(entry));

    private static long? EntryId(IntPtr entry) => entry == IntPtr.Zero ? null : (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);

    /// <summary>Tells whether an I/O error means the filesystem is mounted read-only.</summary>
    public static bool IsReadOnlyFileSystem(IOException e) => e.HResult == EROFS;

    /// <summary>Tells whether an I/O error means the disk is full.</summary>
    public static bool IsDiskFull(IOException e) =>
        e.HResult is 28 /* ENOSPC */ or 122 /* EDQUOT */ or unchecked((int)0x80070070) /* ERROR_DISK_FULL */;

    /// <summary>The canonical absolute path: every link resolved, no <c>.</c> or <c>..</c>.</summary>
    public static string RealPath(string path)
    {
        var resolved = realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            throw Error(Marshal.GetLastPInvokeError(), "resolve", path);
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved)!;
        }
        finally
        {
            free(resolved);
        }
    }

    /// <summary>An exception for a failed call, with the system's words for the errno.</summary>
    /// <summary>
    /// Flushes everything written to the file system that holds <paramref name="path"/> (syncfs(2)): one call
    /// makes a whole restore durable, where an fsync per file would cost a disk flush each.
    /// </summary>
    public static void SyncFileSystem(string path)
    {
        var fd = open(path, OReadOnly | OCloseOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();

            // Removed since it was written (by its owner): nothing of it is left to make durable.
            if (errno == ENOENT)
            {
                return;
            }

            throw Error(errno, "open", path);
        }

        try
        {
            if (syncfs(fd) != 0)
            {
                throw Error(Marshal.GetLastPInvokeError(), "flush the file system of", path);
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    private const int OReadOnly = 0;
    private const int OCloseOnExec = 0x80000;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int syncfs(int fd);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    public static IOException Error(int errno, string verb, string path) =>
        new($"cannot {verb} {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static unsafe partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static unsafe partial int statxAt(Microsoft.Win32.SafeHandles.SafeFileHandle dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static unsafe partial int utimensat(int dirfd, string path, long* times, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int futimens(Microsoft.Win32.SafeHandles.SafeFileHandle fd, long* times);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fchmod(Microsoft.Win32.SafeHandles.SafeFileHandle fd, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fchown(Microsoft.Win32.SafeHandles.SafeFileHandle fd, uint owner, uint group);

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int mknod(string path, uint mode, ulong device);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int lchown(string path, uint owner, uint group);

    [LibraryImport("libc")]
    private static partial IntPtr getpwuid(uint id);

    [LibraryImport("libc")]
    private static partial IntPtr getgrgid(uint id);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial IntPtr getpwnam(string name);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial IntPtr getgrnam(string name);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial int link(string oldpath, string newpath);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static partial IntPtr realpath(string path, IntPtr resolved);

    [LibraryImport("libc")]
    private static partial void free(IntPtr pointer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static unsafe partial nint llistxattr(string path, byte* list, nint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static unsafe partial nint lgetxattr(string path, string name, byte* value, nint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(RawPathMarshaller))]
    private static unsafe partial int lsetxattr(string path, string name, byte* value, nint size, int flags);
}
