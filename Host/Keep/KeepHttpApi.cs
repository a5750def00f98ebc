using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Coffer.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace Coffer.Keep;

/// <summary>
/// The Keep HTTP API as keepstore serves it and Arvados clients call it: paths, methods, status
/// codes and bodies follow services/keepstore's router. Tokens arrive as
/// <c>Authorization: OAuth2 TOKEN</c> (or <c>Bearer</c>).
/// </summary>
internal sealed partial class KeepHttpApi
{
    private static readonly string Version = typeof(KeepHttpApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    // Today's router (services/keepstore/router.go, corsHandler) sets these on every answer.
    private static readonly (string Name, string Value)[] CorsHeaders =
    [
        ("Access-Control-Allow-Methods", "GET, HEAD, PUT, OPTIONS"),
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Headers", "Authorization, Content-Length, Content-Type, X-Keep-Desired-Replicas, X-Keep-Signature, X-Keep-Storage-Classes"),
        ("Access-Control-Expose-Headers", "X-Keep-Locator, X-Keep-Replicas-Stored, X-Keep-Storage-Classes-Confirmed"),
        ("Access-Control-Max-Age", "86486400"),
    ];

    private const string EmptyBlockHash = "d41d8cd98f00b204e9800998ecf8427e";

    private static readonly JsonSerializerOptions ListJson = new() { PropertyNameCaseInsensitive = false };

    // keepstore's JSON keeps Go's field names (BytesFree, ReadOnly, UUID…), not ASP.NET's camelCase.
    private static readonly JsonSerializerOptions ReplyJson = new() { PropertyNamingPolicy = null };

    private readonly BlockStore _store;
    private readonly KeepWorkers _workers;
    private readonly KeepstoreSecrets _secrets;
    private readonly KeepstoreOptions _options;
    private readonly ILogger _logger;
    private readonly KeepMetrics? _metrics;
    private readonly ClientBufferShares _shares;
    private int _requestsInFlight;

    public KeepHttpApi(BlockStore store, KeepWorkers workers, KeepstoreSecrets secrets, KeepstoreOptions options, ILogger logger, KeepMetrics? metrics = null)
    {
        _metrics = metrics;
        _store = store;
        _workers = workers;
        _secrets = secrets;
        _options = options;
        _logger = logger;
        _shares = new ClientBufferShares(options.MaxBuffers);
    }

    /// <summary>Serves one request: refuses it with 503 beyond <c>-max-requests</c>, else routes it.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var requestId = RequestIdOf(context.Request);
        context.Response.Headers["X-Request-Id"] = requestId;
        try
        {
            if (Interlocked.Increment(ref _requestsInFlight) > _options.EffectiveMaxRequests)
            {
                throw KeepFailure.TooBusy;
            }

            await RouteAsync(context).ConfigureAwait(false);
        }
        catch (KeepFailure failure)
        {
            await WriteFailureAsync(context, _options.FromClusterConfig ? AsToday(failure) : failure).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer. Today's keepstore logs such a request as 499.
            if (_options.FromClusterConfig && !context.Response.HasStarted)
            {
                context.Response.StatusCode = 499;
            }
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's refusal of a body (too slow: below MinRequestBodyDataRate; cut short), in keepstore's words
            // (Go's status text) rather than Kestrel's internal message; nothing to answer when the client is gone.
            if (context.RequestAborted.IsCancellationRequested)
            {
                // Logged as today's keepstore logs it (499) or as the seed's ErrClientDisconnect (503).
                if (!context.Response.HasStarted)
                {
                    context.Response.StatusCode = _options.FromClusterConfig ? 499 : KeepFailure.ClientDisconnected.Status;
                }

                return;
            }

            var failure = e.StatusCode == StatusCodes.Status408RequestTimeout ? KeepFailure.RequestTimeout
                : new KeepFailure(e.StatusCode, ReasonPhrases.GetReasonPhrase(e.StatusCode));
            await WriteFailureAsync(context, failure).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRequestFailed(requestId, context.Request.Method, RedactedPath(context), e.Message);
            if (context.Response.HasStarted)
            {
                // A half-sent answer must not look complete (an index without its final blank line, say).
                context.Abort();
            }
            else
            {
                await WriteFailureAsync(context, new KeepFailure(e.Message)).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _requestsInFlight);

            // Today's keepstore logs a request whose client went away before its answer was complete as 499, whatever it
            // had begun to answer; the seed's logged what it answered.
            var status = _options.FromClusterConfig && context.RequestAborted.IsCancellationRequested ? 499 : context.Response.StatusCode;
            _metrics?.Request(status, context.Request.Method, Stopwatch.GetElapsedTime(started));

            // One line per request, as keepstore logs them; permission hints are cut from the path.
            if (_logger.IsEnabled(LogLevel.Information))
            {
                var path = RedactedPath(context);
                var milliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                LogRequest(requestId, context.Request.Method, path, status, milliseconds);
            }
        }
    }

    private Task RouteAsync(HttpContext context)
    {
        var method = context.Request.Method;
        var path = context.Request.Path.Value ?? "/";
        var isGet = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        var isPut = HttpMethods.IsPut(method);
        var today = _options.FromClusterConfig;

        if (today)
        {
            // Today's router wraps every answer in its CORS headers and answers OPTIONS on any path with them alone.
            foreach (var (name, value) in CorsHeaders)
            {
                context.Response.Headers[name] = value;
            }

            if (HttpMethods.IsOptions(method))
            {
                return Task.CompletedTask;
            }
        }

        if (path == "/metrics" && _metrics is not null)
        {
            return HttpMethods.IsGet(method) ? MetricsAsync(context) : MethodNotAllowed();
        }

        if (path == "/_health/ping")
        {
            return HttpMethods.IsGet(method) ? HealthAsync(context) : MethodNotAllowed();
        }

        if (path == "/index" || path.StartsWith("/index/", StringComparison.Ordinal))
        {
            var prefix = path.Length > "/index/".Length ? path["/index/".Length..] : context.Request.Query["prefix"].ToString();
            return isGet ? IndexAsync(context, prefix, null) : MethodNotAllowed();
        }

        if (path == "/status.json")
        {
            return isGet ? StatusAsync(context) : MethodNotAllowed();
        }

        if (path == "/mounts")
        {
            // Today's keepstore shows its mounts to the system root token only; the seed's to anyone.
            return !HttpMethods.IsGet(method) ? MethodNotAllowed()
                : today ? RequireDataManager(context, () => MountsAsync(context))
                : MountsAsync(context);
        }

        if (MountBlocksPath().Match(path) is { Success: true } mountBlocks)
        {
            var mount = _store.Volumes.Find(mountBlocks.Groups["uuid"].Value);
            return !HttpMethods.IsGet(method) ? MethodNotAllowed()
                : mount is null ? WriteTextAsync(context, 404, "mount not found")
                : IndexAsync(context, context.Request.Query["prefix"].ToString(), mount);
        }

        if (path == "/pull")
        {
            return isPut ? ReplaceListAsync<PullRequest>(context, _workers.Pulls, "pull") : MethodNotAllowed();
        }

        if (path == "/trash")
        {
            return isPut ? ReplaceListAsync<TrashRequest>(context, _workers.Trash, "trash") : MethodNotAllowed();
        }

        if (path.StartsWith("/untrash/", StringComparison.Ordinal) && BlockHash.IsValid(path.AsSpan("/untrash/".Length)))
        {
            return isPut ? UntrashAsync(context, path["/untrash/".Length..]) : MethodNotAllowed();
        }

        if (path.Length > 1 && KeepLocator.TryParse(path[1..], out var locator))
        {
            var bare = locator.Text.Length == 32;
            if (isGet)
            {
                return GetAsync(context, locator);
            }

            // Today's router takes hints after the hash of a PUT (and ignores them); the seed's refused them.
            if (isPut && (bare || today))
            {
                return PutAsync(context, locator.Hash);
            }

            if (today && string.Equals(method, "TOUCH", StringComparison.Ordinal))
            {
                return RequireDataManager(context, () => TouchAsync(context, locator.Hash));
            }

            if (HttpMethods.IsDelete(method) && bare)
            {
                return DeleteAsync(context, locator.Hash);
            }

            return bare ? MethodNotAllowed() : throw KeepFailure.BadRequest;
        }

        throw KeepFailure.BadRequest;
    }

    private async Task GetAsync(HttpContext context, KeepLocator locator)
    {
        // Today's router refuses GET of a bare hash (but the empty block's): without a size it could not report an
        // MD5 mismatch after the body started. The seed's served it.
        if (_options.FromClusterConfig && HttpMethods.IsGet(context.Request.Method) && locator.Size is null && locator.Hash != EmptyBlockHash)
        {
            throw new KeepFailure(405, "Method Not Allowed");
        }

        if (_options.EnforcePermissions)
        {
            switch (_secrets.Signer!.Verify(locator, TokenOf(context.Request)))
            {
                case SignatureCheck.Expired:
                    throw KeepFailure.Expired;
                case SignatureCheck.Missing or SignatureCheck.Invalid:
                    throw KeepFailure.Forbidden;
            }
        }

        var cancellationToken = context.RequestAborted;
        var isHead = HttpMethods.IsHead(context.Request.Method);

        // Proxies must not answer a request carrying another X-Keep-Signature with this answer (keepstore's router).
        context.Response.Headers.Append("Vary", "X-Keep-Signature");
        if (isHead && locator.Size is { } size and >= 0 and <= BlockHash.MaxBlockSize)
        {
            // A HEAD sends no body, so the block passes through a discarding sink while its MD5 is checked: no
            // block buffer, and a wrong size hint or corrupt copy is found before anything is answered.
            using var sink = new VerifyingBlockStream(locator.Hash, size);
            if (await _store.StreamAsync(locator.Hash, sink, cancellationToken).ConfigureAwait(false))
            {
                AnswerBlockHeaders(context, locator, size);
                return;
            }

            // The size hint was wrong: the block is read whole below to learn its real length.
        }

        // A GET reads the block whole into a pooled buffer (of the hint's size when there is one) and checks its
        // MD5 before the first byte goes out: a missing or corrupt copy falls back to the next volume, and a
        // block shorter or longer than the size hint is answered at its real length, never cut short.
        using var share = TakeBufferShare(context);
        var (buffer, length) = await _store.ReadAsync(locator.Hash, locator.Size, cancellationToken).ConfigureAwait(false);
        using (buffer)
        {
            AnswerBlockHeaders(context, locator, length);
            if (!isHead)
            {
                await context.Response.Body.WriteAsync(buffer.Array.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The headers of a block found good: its real length, and with <c>X-Keep-Signature: local, …</c> (the Python
    /// SDK's <c>refresh_signature</c>) the locator signed afresh for this token in <c>X-Keep-Locator</c>.
    /// </summary>
    private void AnswerBlockHeaders(HttpContext context, KeepLocator locator, long length)
    {
        context.Response.ContentLength = length;
        context.Response.ContentType = "application/octet-stream";
        var wanted = context.Request.Headers["X-Keep-Signature"].ToString();
        if (string.Equals(wanted.Split(',', 2)[0].Trim(), "local", StringComparison.Ordinal))
        {
            context.Response.Headers["X-Keep-Locator"] = SignFor(context.Request, $"{locator.Hash}+{length}");
        }
    }

    /// <summary>The locator signed for the request's token, or as it is when there is no key or no token.</summary>
    private string SignFor(HttpRequest request, string locator)
    {
        var token = TokenOf(request);
        return _secrets.Signer is { } signer && token.Length > 0 ? signer.Sign(locator, token) : locator;
    }

    private async Task PutAsync(HttpContext context, string hash)
    {
        // Everything that can be refused without the body is refused before reading it.
        if (_options.EnforcePermissions && TokenOf(context.Request).Length == 0)
        {
            // Nothing is stored for a client that could not be handed a signed locator to read it back.
            throw KeepFailure.Unauthorized;
        }

        var length = context.Request.ContentLength ?? throw KeepFailure.SizeRequired;
        if (length > BlockHash.MaxBlockSize)
        {
            throw KeepFailure.TooLong;
        }

        if (_store.Volumes.Writable.Count == 0)
        {
            throw KeepFailure.Full;
        }

        var cancellationToken = context.RequestAborted;
        if (length > 0)
        {
            // A buffer is taken only once the body has begun to arrive: a client that announces a block and sends
            // nothing holds none (and Kestrel's minimum body rate ends its wait with 408).
            var first = await context.Request.BodyReader.ReadAsync(cancellationToken).ConfigureAwait(false);
            context.Request.BodyReader.AdvanceTo(first.Buffer.Start);
        }

        using var share = TakeBufferShare(context);
        BlockBuffer buffer;
        try
        {
            buffer = await _store.Buffers.RentAsync((int)length, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw KeepFailure.ClientDisconnected;
        }

        IReadOnlyList<KeepMount> holders;
        using (buffer)
        {
            // Hashing each piece as it arrives, while it is still in the CPU cache, saves a second pass over the block.
            var received = await ReceiveHashedAsync(context.Request.BodyReader, buffer.Array.AsMemory(0, (int)length), hash, cancellationToken).ConfigureAwait(false);
            if (!received)
            {
                throw KeepFailure.RequestHashMismatch;
            }

            holders = _options.FromClusterConfig
                ? await _store.PutByClassAsync(hash, buffer.Array.AsMemory(0, (int)length), RequestedClasses(context.Request), cancellationToken).ConfigureAwait(false)
                : [await _store.PutAsync(hash, buffer.Array.AsMemory(0, (int)length), null, cancellationToken).ConfigureAwait(false)];
        }

        var locator = SignFor(context.Request, $"{hash}+{length}");
        context.Response.Headers["X-Keep-Replicas-Stored"] = holders.Sum(m => m.Replication).ToString(CultureInfo.InvariantCulture);

        // As keepstore's router: "class=replicas" for each class the copies count towards, comma and space between.
        // Without it Arvados clients conclude the cluster has no storage classes and stop tracking them.
        var confirmed = new List<(string Class, int Replicas)>();
        foreach (var mount in holders)
        {
            foreach (var storageClass in mount.StorageClasses)
            {
                var at = confirmed.FindIndex(c => c.Class == storageClass);
                if (at < 0)
                {
                    confirmed.Add((storageClass, mount.Replication));
                }
                else
                {
                    confirmed[at] = (storageClass, confirmed[at].Replicas + mount.Replication);
                }
            }
        }

        context.Response.Headers["X-Keep-Storage-Classes-Confirmed"] = string.Join(", ", confirmed.Select(c => $"{c.Class}={c.Replicas}"));
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(locator + "\n", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fills <paramref name="destination"/> from the request body, hashing as it comes.</summary>
    /// <returns>True when the body's MD5 is <paramref name="hash"/>.</returns>
    private static async Task<bool> ReceiveHashedAsync(PipeReader body, Memory<byte> destination, string hash, CancellationToken cancellationToken)
    {
#pragma warning disable CA5351 // MD5 is the Keep protocol's block name, not a security primitive.
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
        var filled = 0;
        while (filled < destination.Length)
        {
            var result = await body.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var take = (int)Math.Min(buffer.Length, destination.Length - filled);
            foreach (var segment in buffer.Slice(0, take))
            {
                segment.Span.CopyTo(destination.Span[filled..]);
                md5.AppendData(segment.Span);
                filled += segment.Length;
            }

            body.AdvanceTo(buffer.GetPosition(take));
            if (filled < destination.Length && (result.IsCompleted || result.IsCanceled))
            {
                throw new KeepFailure(400, "request body is shorter than its Content-Length");
            }
        }

        return string.Equals(Convert.ToHexStringLower(md5.GetHashAndReset()), hash, StringComparison.Ordinal);
    }

    private async Task DeleteAsync(HttpContext context, string hash)
    {
        if (!_secrets.IsDataManager(TokenOf(context.Request)))
        {
            throw KeepFailure.Forbidden;
        }

        if (_options.NeverDelete)
        {
            throw KeepFailure.MethodDisabled;
        }

        int deleted = 0, failed = 0;
        foreach (var mount in _store.Volumes.Writable)
        {
            try
            {
                await mount.RunAsync((v, ct) => v.TrashAsync(hash, ct), context.RequestAborted).ConfigureAwait(false);
                deleted++;
            }
            catch (NotFoundException)
            {
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed++;
                KeepLog.VolumeOperationFailed(_logger, mount.Label, "delete", hash, e.Message);
            }
        }

        if (deleted == 0 && failed == 0)
        {
            throw KeepFailure.NotFound;
        }

        await context.Response.WriteAsJsonAsync(new { copies_deleted = deleted, copies_failed = failed }, ReplyJson, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task IndexAsync(HttpContext context, string prefix, KeepMount? mount)
    {
        if (!_secrets.IsDataManager(TokenOf(context.Request)))
        {
            throw KeepFailure.Unauthorized;
        }

        if (prefix.Length > 32 || !prefix.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
        {
            throw KeepFailure.BadRequest;
        }

        var cancellationToken = context.RequestAborted;
        context.Response.ContentType = "text/plain; charset=utf-8";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        var writer = new StreamWriter(context.Response.Body, new UTF8Encoding(false), 64 * 1024);
        await using (writer.ConfigureAwait(false))
        {
            foreach (var each in mount is null ? _store.Volumes.All : [mount])
            {
                await foreach (var block in each.IndexAsync(prefix, cancellationToken).ConfigureAwait(false))
                {
                    await writer.WriteAsync(block.ToString()).ConfigureAwait(false);
                    await writer.WriteAsync('\n').ConfigureAwait(false);
                }
            }

            // The blank line is how a client knows it got the whole index.
            await writer.WriteAsync('\n').ConfigureAwait(false);
        }
    }

    private async Task StatusAsync(HttpContext context)
    {
        var volumes = new List<object>();
        foreach (var mount in _store.Volumes.All)
        {
            VolumeStatus? status = null;
            try
            {
                status = await mount.Volume.GetStatusAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogStatusFailed(mount.Label, e.Message);
            }

            // A volume that cannot tell its usage cheaply (a cloud container: -1) reports the last complete index
            // of it instead, with the block count and when; before any, -1 as before.
            var pass = status is { BytesUsed: < 0 } ? mount.LastIndexPass : null;
            volumes.Add(new
            {
                Label = mount.Label,
                Status = status is { } s
                    ? new
                    {
                        MountPoint = mount.Label,
                        DeviceNum = 0,
                        BytesFree = s.BytesFree,
                        BytesUsed = pass?.Bytes ?? s.BytesUsed,
                        BlocksUsed = pass?.Blocks ?? -1,
                        UsageFrom = pass is null ? (s.BytesUsed < 0 ? "unknown" : "volume") : "index " + pass.At.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                    }
                    : null,
            });
        }

        var pulls = _workers.Pulls.Status;
        var trash = _workers.Trash.Status;
        var node = new
        {
            Volumes = volumes,
            BufferPool = new { BytesAllocatedCumulative = _store.Buffers.BytesAllocatedCumulative, BuffersMax = _store.Buffers.MaxBuffers, BuffersInUse = _store.Buffers.InUse },
            PullQueue = new { InProgress = pulls.InProgress, Queued = pulls.Queued },
            TrashQueue = new { InProgress = trash.InProgress, Queued = trash.Queued },
            RequestsCurrent = Volatile.Read(ref _requestsInFlight),
            RequestsMax = _options.EffectiveMaxRequests,
            Version,
        };
        await context.Response.WriteAsJsonAsync(node, ReplyJson, context.RequestAborted).ConfigureAwait(false);
    }

    private Task MountsAsync(HttpContext context) =>
        context.Response.WriteAsJsonAsync(
            _store.Volumes.All.Select(m => new
            {
                UUID = m.Uuid,
                DeviceID = m.Volume.DeviceId,
                ReadOnly = m.IsReadOnly,
                Replication = m.Replication,
                Tier = 1,
                StorageClasses = m.StorageClasses.ToDictionary(c => c, _ => true),
            }),
            ReplyJson,
            context.RequestAborted);

    private async Task ReplaceListAsync<T>(HttpContext context, WorkQueue<T> queue, string kind)
    {
        if (!_secrets.IsDataManager(TokenOf(context.Request)))
        {
            throw KeepFailure.Unauthorized;
        }

        List<T> list;
        try
        {
            list = await JsonSerializer.DeserializeAsync<List<T>>(context.Request.Body, ListJson, context.RequestAborted).ConfigureAwait(false) ?? [];
        }
        catch (JsonException e)
        {
            throw new KeepFailure(400, $"the {kind} list is not valid JSON: {e.Message}");
        }

        if (_options.FromClusterConfig && list is List<PullRequest> { Count: > 0 } pulls && pulls[0].Locator.Length == 32)
        {
            // Today's keepstore refuses a pull list from a keep-balance too old to send sizes, in these words.
            throw new KeepFailure(400, "rejecting pull list containing a locator without a size hint -- this probably means keep-balance needs to be upgraded");
        }

        queue.ReplaceAll(list);

        // Today's keepstore answers an accepted list with an empty 200; the seed's counted it.
        if (!_options.FromClusterConfig)
        {
            await context.Response.WriteAsync($"Received {list.Count} {kind} requests\n", context.RequestAborted).ConfigureAwait(false);
        }
    }

    private async Task UntrashAsync(HttpContext context, string hash)
    {
        if (!_secrets.IsDataManager(TokenOf(context.Request)))
        {
            throw KeepFailure.Unauthorized;
        }

        var writable = _store.Volumes.Writable;
        if (writable.Count == 0)
        {
            throw new KeepFailure(404, "No writable volumes");
        }

        var untrashedOn = new List<string>();
        var failedOn = new List<string>();
        var notFound = 0;
        foreach (var mount in writable)
        {
            try
            {
                await mount.RunAsync((v, ct) => v.UntrashAsync(hash, ct), context.RequestAborted).ConfigureAwait(false);
                untrashedOn.Add(mount.Label);
            }
            catch (NotFoundException)
            {
                notFound++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failedOn.Add(mount.Label);
                KeepLog.VolumeOperationFailed(_logger, mount.Label, "untrash", hash, e.Message);
            }
        }

        if (notFound == writable.Count)
        {
            throw new KeepFailure(404, "Block not found on any of the writable volumes");
        }

        if (failedOn.Count == writable.Count)
        {
            throw new KeepFailure(500, "Failed to untrash on all writable volumes");
        }

        var body = "Successfully untrashed on: " + string.Join(",", untrashedOn);
        if (failedOn.Count > 0)
        {
            body += "; Failed to untrash on: " + string.Join(",", failedOn);
        }

        await context.Response.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The client's <c>X-Request-Id</c> when it is a plain token (printable ASCII, no space, at most 100
    /// characters: it goes into the log as it is), else a new one as Arvados makes them: <c>req-</c> and 20
    /// lower-case base-36 characters.
    /// </summary>
    internal static string RequestIdOf(HttpRequest request)
    {
        var given = request.Headers["X-Request-Id"].ToString();
        if (given.Length is > 0 and <= 100 && given.All(c => c is > ' ' and <= '~'))
        {
            return given;
        }

        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        return "req-" + RandomNumberGenerator.GetString(digits, 20);
    }

    /// <summary>
    /// The status and words today's keepstore answers where they differ from the seed's (keepstore.go's errors): a
    /// corrupt stored copy is 502, a body that does not match its hash 400, a collision and a full cluster in
    /// today's words.
    /// </summary>
    private static KeepFailure AsToday(KeepFailure failure) => (failure.Status, failure.Message) switch
    {
        (500, "Hash mismatch in stored data") => new KeepFailure(502, "checksum mismatch in stored data"),
        (422, "Hash mismatch in request") => new KeepFailure(400, "content hash did not match specified locator"),
        (500, "Collision") => new KeepFailure(500, "hash collision"),
        (507, "Full") => new KeepFailure(507, "insufficient storage"),
        _ => failure,
    };

    /// <summary>The classes of <c>X-Keep-Storage-Classes: a, b</c>, trimmed, without empty ones.</summary>
    private static List<string> RequestedClasses(HttpRequest request) =>
        request.Headers["X-Keep-Storage-Classes"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct().ToList();

    /// <summary>Runs <paramref name="handler"/> for the data manager (the system root token) only: 401 without a token, 403 with another.</summary>
    private Task RequireDataManager(HttpContext context, Func<Task> handler)
    {
        var token = TokenOf(context.Request);
        return _secrets.IsDataManager(token) ? handler()
            : token.Length == 0 ? throw KeepFailure.Unauthorized
            : throw KeepFailure.Forbidden;
    }

    /// <summary><c>TOUCH /HASH</c>: sets the mtime of the first writable copy in configuration order, as today's keepstore's BlockTouch.</summary>
    private async Task TouchAsync(HttpContext context, string hash)
    {
        foreach (var mount in _store.Volumes.Writable)
        {
            try
            {
                await mount.RunAsync((v, ct) => v.TouchAsync(hash, ct), context.RequestAborted).ConfigureAwait(false);
                return;
            }
            catch (NotFoundException)
            {
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                KeepLog.VolumeOperationFailed(_logger, mount.Label, "touch", hash, e.Message);
            }
        }

        throw KeepFailure.NotFound;
    }

    /// <summary>
    /// <c>GET /metrics</c>, the Prometheus text format, as Arvados' services guard it (auth.RequireLiteralToken):
    /// open when there is no ManagementToken (always so in the flag dialect), else that token (OAuth2 or Bearer),
    /// 401 without a token, 403 with another.
    /// </summary>
    private async Task MetricsAsync(HttpContext context)
    {
        if (_options.ManagementToken is { Length: > 0 } expected)
        {
            var token = TokenOf(context.Request);
            if (token.Length == 0)
            {
                throw KeepFailure.Unauthorized;
            }

            if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), SHA256.HashData(Encoding.UTF8.GetBytes(expected))))
            {
                throw KeepFailure.Forbidden;
            }
        }

        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await _metrics!.ExportAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary><c>GET /_health/ping</c> as Arvados' health handler: 404 without a ManagementToken, else <c>Bearer</c> that token.</summary>
    private async Task HealthAsync(HttpContext context)
    {
        var expected = _options.ManagementToken;
        var given = context.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(expected))
        {
            await WriteTextAsync(context, 404, "disabled").ConfigureAwait(false);
        }
        else if (given.Length == 0)
        {
            await WriteTextAsync(context, 401, "authorization required").ConfigureAwait(false);
        }
        else if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes("Bearer " + expected))))
        {
            await WriteTextAsync(context, 403, "authorization error").ConfigureAwait(false);
        }
        else
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"health\":\"OK\"}\n", context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The request's client's share of the block buffers; 503 when that client holds its whole share already.</summary>
    private IDisposable TakeBufferShare(HttpContext context) =>
        _shares.TryTake(context.Connection.RemoteIpAddress) ?? throw KeepFailure.TooBusy;

    private static Task MethodNotAllowed() => throw new KeepFailure(405, "Method Not Allowed");

    /// <summary>The API token of <c>Authorization: OAuth2 TOKEN</c> or <c>Bearer TOKEN</c>; empty when absent.</summary>
    internal static string TokenOf(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        var match = AuthorizationHeader().Match(header);
        return match.Success ? match.Groups["token"].Value : "";
    }

    private static async Task WriteFailureAsync(HttpContext context, KeepFailure failure)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        await WriteTextAsync(context, failure.Status, failure.Message).ConfigureAwait(false);
    }

    private static Task WriteTextAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentLength = null;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.WriteAsync(message + "\n");
    }

    // A permission signature grants access to a block: keep it out of the log.
    private static string RedactedPath(HttpContext context) =>
        SignatureHint().Replace(context.Request.Path.Value ?? "", "+A…");

    [GeneratedRegex(@"^(OAuth2|Bearer)\s+(?<token>.*)$", RegexOptions.CultureInvariant)]
    private static partial Regex AuthorizationHeader();

    [GeneratedRegex(@"^/mounts/(?<uuid>[^/]+)/blocks/?$", RegexOptions.CultureInvariant)]
    private static partial Regex MountBlocksPath();

    [GeneratedRegex(@"\+A[^+]*", RegexOptions.CultureInvariant)]
    private static partial Regex SignatureHint();

    [LoggerMessage(Level = LogLevel.Information, Message = "{RequestId} {Method} {Path} {Status} {Milliseconds:0.0}ms")]
    private partial void LogRequest(string requestId, string method, string path, int status, double milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "{RequestId} {Method} {Path}: {Reason}")]
    private partial void LogRequestFailed(string requestId, string method, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Volume}: status unavailable: {Reason}")]
    private partial void LogStatusFailed(string volume, string reason);
}
