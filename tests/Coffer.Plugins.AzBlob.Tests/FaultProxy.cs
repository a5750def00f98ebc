using System.Net;
using System.Net.Sockets;

namespace Coffer.Plugins.AzBlob.Tests;

/// <summary>
/// A loopback HTTP proxy in front of Azurite that answers the next <see cref="FailLists"/> blob listings with
/// 503 Server Busy, as a loaded storage account does, and forwards everything else unchanged.
/// </summary>
internal sealed class FaultProxy : IDisposable
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Content-Length", "Transfer-Encoding", "Expect", "Keep-Alive",
    };

    private readonly HttpListener _listener = new();
    private readonly HttpClient _client = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    private readonly Uri _target;
    private readonly Task _loop;
    private int _failLists;
    private int _failed;

    public FaultProxy(Uri target)
    {
        _target = target;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    /// <summary>How many of the coming list requests get a 503.</summary>
    public int FailLists
    {
        get => Volatile.Read(ref _failLists);
        set => Volatile.Write(ref _failLists, value);
    }

    /// <summary>How many 503s were served.</summary>
    public int Failed => Volatile.Read(ref _failed);

    public void Dispose()
    {
        _listener.Close();
        _client.Dispose();
        _ = _loop.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            if (request.Url!.Query.Contains("comp=list", StringComparison.Ordinal) && Interlocked.Decrement(ref _failLists) >= 0)
            {
                Interlocked.Increment(ref _failed);
                response.StatusCode = 503;
                response.Headers["x-ms-error-code"] = "ServerBusy";
                response.Close();
                return;
            }

            using var forward = new HttpRequestMessage(new HttpMethod(request.HttpMethod), new Uri(_target, request.RawUrl));
            if (request.HasEntityBody)
            {
                var body = new MemoryStream();
                await request.InputStream.CopyToAsync(body);
                body.Position = 0;
                forward.Content = new StreamContent(body);
            }

            foreach (var name in request.Headers.AllKeys)
            {
                if (name is null || HopHeaders.Contains(name))
                {
                    continue;
                }

                var value = request.Headers[name]!;
                if (!forward.Headers.TryAddWithoutValidation(name, value))
                {
                    forward.Content?.Headers.TryAddWithoutValidation(name, value);
                }
            }

            using var answer = await _client.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead);
            response.StatusCode = (int)answer.StatusCode;
            foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
            {
                if (!HopHeaders.Contains(name))
                {
                    response.Headers[name] = string.Join(",", values);
                }
            }

            var content = await answer.Content.ReadAsByteArrayAsync();
            response.ContentLength64 = content.Length;
            await response.OutputStream.WriteAsync(content);
            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or HttpRequestException or ObjectDisposedException)
        {
            response.Abort();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
