using Coffer.Plumbing;

namespace Coffer.Packager.Repositories;

/// <summary>
/// How a repository's static files are reached: read a file, and for a writable repository write one
/// (atomically: readers see the old file or the new one, whole) and list a folder. Paths are relative,
/// with <c>/</c>.
/// </summary>
public interface IRepositoryTransport : IAsyncDisposable
{
    /// <summary>Where the repository is, for messages; never holds secrets.</summary>
    string Description { get; }

    /// <summary>Whether <see cref="WriteAsync"/> and <see cref="ListAsync"/> work (an HTTP repository is read-only).</summary>
    bool CanWrite { get; }

    /// <summary>Copies a file into <paramref name="destination"/>.</summary>
    /// <param name="path">The file's path in the repository.</param>
    /// <param name="destination">Receives its bytes.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>False when there is no such file.</returns>
    Task<bool> ReadAsync(string path, Stream destination, CancellationToken cancellationToken);

    /// <summary>Writes a file atomically, replacing one of the same path.</summary>
    /// <param name="path">The file's path in the repository.</param>
    /// <param name="content">Its bytes, read to the end.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the file is stored.</returns>
    Task WriteAsync(string path, Stream content, CancellationToken cancellationToken);

    /// <summary>Lists the files directly in a folder.</summary>
    /// <param name="folder">The folder's path in the repository.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>The file names (not paths).</returns>
    Task<IReadOnlyList<string>> ListAsync(string folder, CancellationToken cancellationToken);
}

/// <summary>A repository in a local (or shared) directory: writes are a temporary file renamed into place.</summary>
/// <param name="root">The repository's directory.</param>
public sealed class DirectoryRepositoryTransport(string root) : IRepositoryTransport
{
    /// <inheritdoc />
    public string Description => root;

    /// <inheritdoc />
    public bool CanWrite => true;

    /// <inheritdoc />
    public async Task<bool> ReadAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        FileStream file;
        try
        {
            file = new FileStream(Full(path), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }

        await using (file.ConfigureAwait(false))
        {
            await file.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    /// <inheritdoc />
    public Task WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        var full = Full(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return DurableFile.WriteAsync(full, (stream, ct) => content.CopyToAsync(stream, ct), DurableFile.Readable, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListAsync(string folder, CancellationToken cancellationToken)
    {
        var full = Full(folder);
        IReadOnlyList<string> names = Directory.Exists(full)
            ? Directory.EnumerateFiles(full).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Select(n => n!).ToList()
            : [];
        return Task.FromResult(names);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private string Full(string path) => Path.Combine(root, path.Replace('/', Path.DirectorySeparatorChar));
}

/// <summary>A repository served by any web server: read-only, files fetched with GET.</summary>
public sealed class HttpRepositoryTransport : IRepositoryTransport
{
    private readonly Uri _base;
    private readonly HttpClient _client;

    /// <summary>Creates a transport for the repository at <paramref name="baseUrl"/>.</summary>
    /// <param name="baseUrl">The repository's URL (its index is <c>BASE/index.json</c>).</param>
    public HttpRepositoryTransport(Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        _base = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
        _client = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
    }

    /// <inheritdoc />
    public string Description => new UriBuilder(_base) { UserName = "", Password = "", Query = "" }.Uri.AbsoluteUri;

    /// <inheritdoc />
    public bool CanWrite => false;

    /// <inheritdoc />
    public async Task<bool> ReadAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var response = await _client.GetAsync(new Uri(_base, path), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new IOException($"GET {path} answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        await response.Content.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public Task WriteAsync(string path, Stream content, CancellationToken cancellationToken) => throw ReadOnly();

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListAsync(string folder, CancellationToken cancellationToken) => throw ReadOnly();

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private PackageException ReadOnly() =>
        new($"{Description} is an HTTP repository, which coffer only reads: publish into the directory or storage the web server serves");
}
