namespace Coffer.ThirdParty.Tests;

/// <summary>
/// What a third party writes in place of the template's stub: a storage connector keeping a whole
/// store in one directory (<c>CONFIG</c>, and one file per object named <c>CLASS.NAME</c>). It is
/// deliberately written against ABI 1.0's API only, so the same source builds against every
/// Coffer.Abstractions version the end-to-end test packs.
/// </summary>
internal static class TinyConnectorSource
{
    /// <summary>The replacement for <c>StorageConnector.cs</c> in a project made with <c>-n <paramref name="projectName"/></c>.</summary>
    public static string StorageConnector(string projectName) => Template.Replace("PROJECT_NAMESPACE", projectName, StringComparison.Ordinal);

    private const string Template = """
        using Coffer.Abstractions;

        namespace PROJECT_NAMESPACE;

        /// <summary>A store in one directory: CONFIG plus one file per object, named CLASS.NAME.</summary>
        public sealed class StorageConnector(string location, StorageMode mode) : IStorageConnector
        {
            private string ConfigPath => Path.Combine(location, "CONFIG");

            /// <inheritdoc />
            public string Description => $"one-directory store {location}";

            /// <inheritdoc />
            public StorageMode Mode { get; } = mode;

            /// <inheritdoc />
            public async Task CreateAsync(ReadOnlyMemory<byte> config, CancellationToken cancellationToken = default)
            {
                Writable();
                Directory.CreateDirectory(location);
                var temp = Temp();
                await File.WriteAllBytesAsync(temp, config, cancellationToken);
                try
                {
                    // Of two creates one wins: creating the claim file is exclusive (O_EXCL), whereas
                    // File.Move without overwrite checks and then renames, which lets both through.
                    new FileStream(ConfigPath + ".claim", FileMode.CreateNew, FileAccess.Write).Dispose();
                }
                catch (IOException) when (File.Exists(ConfigPath + ".claim"))
                {
                    File.Delete(temp);
                    throw new StoreAlreadyExistsException($"a store already exists in {location}");
                }

                try
                {
                    // CONFIG only appears complete.
                    File.Move(temp, ConfigPath, overwrite: false);
                }
                catch (IOException) when (File.Exists(ConfigPath))
                {
                    File.Delete(temp);
                    throw new StoreAlreadyExistsException($"a store already exists in {location}");
                }
            }

            /// <inheritdoc />
            public async Task<byte[]> OpenAsync(CancellationToken cancellationToken = default) =>
                File.Exists(ConfigPath) ? await File.ReadAllBytesAsync(ConfigPath, cancellationToken)
                    : throw new NotFoundException($"no store in {location}");

            /// <inheritdoc />
            public async Task PutAsync(StorageObjectClass objectClass, string name, Stream content, CancellationToken cancellationToken = default)
            {
                var path = ObjectPath(objectClass, name);
                Writable();
                var temp = Temp();
                try
                {
                    await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
                    {
                        await content.CopyToAsync(file, cancellationToken);
                    }

                    File.Move(temp, path, overwrite: true);
                }
                finally
                {
                    File.Delete(temp);
                }
            }

            /// <inheritdoc />
            public Task<Stream> GetAsync(StorageObjectClass objectClass, string name, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
            {
                var path = ObjectPath(objectClass, name);
                if (!File.Exists(path))
                {
                    throw new NotFoundException($"{objectClass} object '{name}' is not in {location}");
                }

                var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, useAsync: true);
                file.Seek(offset, SeekOrigin.Begin);
                return Task.FromResult<Stream>(length is { } count ? new RangeStream(file, count) : file);
            }

            /// <inheritdoc />
            public Task DeleteAsync(StorageObjectClass objectClass, string name, CancellationToken cancellationToken = default)
            {
                var path = ObjectPath(objectClass, name);
                Writable();
                File.Delete(path);
                return Task.CompletedTask;
            }

            /// <inheritdoc />
            public async IAsyncEnumerable<StorageObject> ListAsync(StorageObjectClass objectClass, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
            {
                var prefix = $"{objectClass}.";
                foreach (var file in new DirectoryInfo(location).EnumerateFiles($"{prefix}*"))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    long length;
                    try
                    {
                        length = file.Length;
                    }
                    catch (FileNotFoundException)
                    {
                        continue; // deleted since the directory was read: no longer there
                    }

                    yield return new StorageObject(file.Name[prefix.Length..], length);
                }

                await Task.CompletedTask;
            }

            /// <inheritdoc />
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;

            private string ObjectPath(StorageObjectClass objectClass, string name)
            {
                StorageObjectName.Validate(name);
                return Path.Combine(location, $"{objectClass}.{name}");
            }

            // Object names never start with a dot, so temporary files never show up in a listing.
            private string Temp() => Path.Combine(location, $".tmp-{Guid.NewGuid():N}");

            private void Writable()
            {
                if (Mode == StorageMode.ReadOnly)
                {
                    throw new ReadOnlyException($"{location} is opened read-only");
                }
            }

            /// <summary>The first bytes of a stream, for ranged reads.</summary>
            private sealed class RangeStream(Stream inner, long length) : Stream
            {
                private long _left = length;

                public override bool CanRead => true;
                public override bool CanSeek => false;
                public override bool CanWrite => false;
                public override long Length => length;
                public override long Position { get => length - _left; set => throw new NotSupportedException(); }

                public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

                public override int Read(Span<byte> buffer)
                {
                    var read = inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
                    _left -= read;
                    return read;
                }

                public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
                {
                    var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken);
                    _left -= read;
                    return read;
                }

                public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                    ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

                public override void Flush() { }
                public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
                public override void SetLength(long value) => throw new NotSupportedException();
                public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

                protected override void Dispose(bool disposing)
                {
                    if (disposing)
                    {
                        inner.Dispose();
                    }

                    base.Dispose(disposing);
                }
            }
        }
        """;
}
