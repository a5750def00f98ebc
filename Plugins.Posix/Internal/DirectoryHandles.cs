namespace Coffer.Plugins.Posix.Internal;

/// <summary>
/// The open directories of a destination, by their path under its root. Without it every file written opened
/// the root and each directory on its path (<see cref="RawDirectory.OpenParent"/>) and closed them again: for
/// small files in a two-level tree, 6 of a file's ~20 system calls. A directory is opened (and checked, as
/// <see cref="RawDirectory.OpenParent"/> does) once and then used by every writer until it is finished
/// (<see cref="Forget"/>). Idle directories beyond <see cref="MaxOpen"/> are closed, so a restore that finishes
/// its directories late (<c>--delete</c>) does not run out of descriptors.
/// </summary>
internal sealed class DirectoryHandles(string root) : IDisposable
{
    /// <summary>The most directories held open while nobody uses them.</summary>
    internal const int MaxOpen = 128;

    private readonly Dictionary<string, Handle> _open = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>The directory that holds <paramref name="relativePath"/>, and its name there (<see cref="RawDirectory.Itself"/> for the root), held until the lease is disposed.</summary>
    /// <exception cref="Coffer.Abstractions.PathEscapesRootException">The path is not clean, or a parent is a symlink.</exception>
    /// <exception cref="Coffer.Abstractions.NotFoundException">A parent is missing and <paramref name="createParents"/> is false.</exception>
    public Lease OpenParent(string relativePath, bool createParents)
    {
        // Checked on every call, not only when a directory is opened: a cached parent must not let "..", an
        // absolute path or an unclean name through.
        _ = RelativePath.Split(relativePath);
        var slash = relativePath.LastIndexOf('/');
        var parentPath = slash < 0 ? "" : relativePath[..slash];
        lock (_gate)
        {
            if (_open.TryGetValue(parentPath, out var cached))
            {
                cached.Users++;
                return new Lease(this, cached, relativePath.Length == 0 ? RawDirectory.Itself : relativePath[(slash + 1)..]);
            }
        }

        // Opened outside the lock (it may create directories); a writer that opened it meanwhile wins.
        var (directory, name) = RawDirectory.OpenParent(root, relativePath, createParents);
        var opened = new Handle(parentPath, directory) { Users = 1 };
        lock (_gate)
        {
            if (_open.TryGetValue(parentPath, out var cached))
            {
                directory.Dispose();
                cached.Users++;
                return new Lease(this, cached, name);
            }

            if (_open.Count >= MaxOpen)
            {
                foreach (var idle in _open.Values.Where(h => h.Users == 0).ToList())
                {
                    _open.Remove(idle.Path);
                    idle.Directory.Dispose();
                }
            }

            _open[parentPath] = opened;
            return new Lease(this, opened, name);
        }
    }

    /// <summary>Closes <paramref name="relativePath"/> and every directory below it once nobody uses them: it is finished or removed.</summary>
    public void Forget(string relativePath)
    {
        lock (_gate)
        {
            foreach (var handle in _open.Values.Where(h => relativePath.Length == 0 || h.Path == relativePath || h.Path.StartsWith(relativePath + "/", StringComparison.Ordinal)).ToList())
            {
                _open.Remove(handle.Path);
                handle.Forgotten = true;
                if (handle.Users == 0)
                {
                    handle.Directory.Dispose();
                }
            }
        }
    }

    public void Dispose() => Forget("");

    private void Release(Handle handle)
    {
        lock (_gate)
        {
            if (--handle.Users == 0 && handle.Forgotten)
            {
                handle.Directory.Dispose();
            }
        }
    }

    internal sealed class Handle(string path, RawDirectory directory)
    {
        public string Path => path;

        public RawDirectory Directory => directory;

        // Both guarded by the cache's lock.
        public int Users { get; set; }

        public bool Forgotten { get; set; }
    }

    /// <summary>A directory in use, and the name of the entry in it; disposing it gives the directory back.</summary>
    public readonly struct Lease : IDisposable
    {
        private readonly DirectoryHandles _owner;
        private readonly Handle _handle;

        internal Lease(DirectoryHandles owner, Handle handle, string name)
        {
            _owner = owner;
            _handle = handle;
            Name = name;
        }

        /// <summary>The directory holding the entry.</summary>
        public RawDirectory Parent => _handle.Directory;

        /// <summary>The entry's name in <see cref="Parent"/>.</summary>
        public string Name { get; }

        public void Dispose() => _owner.Release(_handle);
    }
}
