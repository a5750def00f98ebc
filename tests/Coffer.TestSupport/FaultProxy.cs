using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Coffer.TestSupport;

/// <summary>A fault the proxy injects into one request.</summary>
public abstract record Fault
{
    /// <summary>Reset the client connection before forwarding anything.</summary>
    public sealed record Reset : Fault;

    /// <summary>Answer with a status code without forwarding; with Retry-After seconds when given.</summary>
    public sealed record Status(int Code, int? RetryAfterSeconds = null) : Fault;

    /// <summary>Forward the request after a delay.</summary>
    public sealed record Delay(TimeSpan Duration) : Fault;

    /// <summary>Forward the request, relay the response head and this many body bytes, then reset.</summary>
    public sealed record CutBody(int AfterBytes) : Fault;
}

/// <summary>What the proxy knows of a request when it decides on a fault.</summary>
public sealed record ProxiedRequest(long Number, string Method, string Target);

/// <summary>
/// An HTTP/1.1 relay on a loopback port in front of a real server (Azurite), injecting the faults
/// <see cref="Decide"/> chooses per request. Each request is relayed on a fresh upstream connection
/// and answered with <c>Connection: close</c>, so the proxy never has to parse bodies.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private long _requests;
    private long _faults;

    private FaultProxy(IPEndPoint upstream)
    {
        _upstream = upstream;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Chooses the fault for each request; null forwards it untouched. Called concurrently.</summary>
    public Func<ProxiedRequest, Fault?> Decide { get; set; } = _ => null;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public long Requests => Interlocked.Read(ref _requests);

    public long FaultsInjected => Interlocked.Read(ref _faults);

    /// <summary>Starts a proxy in front of a server listening on 127.0.0.1:<paramref name="upstreamPort"/>.</summary>
    public static FaultProxy Start(int upstreamPort) => new(new IPEndPoint(IPAddress.Loopback, upstreamPort));

    /// <summary>The path-style blob endpoint of an account, through the proxy.</summary>
    public Uri EndpointOf(string account) => new($"http://127.0.0.1:{Port}/{account}");

    /// <summary>A seeded policy: each request gets one of <paramref name="faults"/> with probability <paramref name="rate"/>.</summary>
    public static Func<ProxiedRequest, Fault?> Random(int seed, double rate, params Fault[] faults)
    {
        var random = new Random(seed);
        return _ =>
        {
            lock (random)
            {
                return random.NextDouble() < rate ? faults[random.Next(faults.Length)] : null;
            }
        };
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var downstream = client.GetStream();
                var head = await ReadHeadAsync(downstream);
                if (head is null)
                {
                    return;
                }

                var requestLine = head.Text.Split("\r\n", 2)[0].Split(' ');
                var request = new ProxiedRequest(Interlocked.Increment(ref _requests), requestLine[0], requestLine.Length > 1 ? requestLine[1] : "");
                var fault = Decide(request);
                if (fault is not null)
                {
                    Interlocked.Increment(ref _faults);
                }

                switch (fault)
                {
                    case Fault.Reset:
                        client.Client.LingerState = new LingerOption(true, 0); // RST, not FIN
                        return;
                    case Fault.Status status:
                        await DrainBodyAsync(downstream, head);
                        await WriteStatusAsync(downstream, status);
                        return;
                    case Fault.Delay delay:
                        await Task.Delay(delay.Duration, _stop.Token);
                        break;
                }

                await RelayAsync(client, downstream, head, (fault as Fault.CutBody)?.AfterBytes);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A client or upstream that went away: nothing to relay any more.
            }
        }
    }

    private async Task RelayAsync(TcpClient client, NetworkStream downstream, RequestHead head, int? cutAfterBodyBytes)
    {
        using var upstream = new TcpClient();
        await upstream.ConnectAsync(_upstream, _stop.Token);
        var upstreamStream = upstream.GetStream();

        await upstreamStream.WriteAsync(Encoding.Latin1.GetBytes(WithConnectionClose(head.Text)), _stop.Token);
        await upstreamStream.WriteAsync(head.BodyStart, _stop.Token);
        if (!await CopyRequestBodyAsync(downstream, head, upstreamStream))
        {
            return;
        }

        var buffer = new byte[64 * 1024];

        // The upstream closes after its response (Connection: close), so relay to EOF.
        long bodyBytes = -1; // -1 until the response head has passed
        var responseHead = new List<byte>();
        int n;
        while ((n = await upstreamStream.ReadAsync(buffer, _stop.Token)) > 0)
        {
            var chunk = buffer.AsMemory(0, n);
            if (cutAfterBodyBytes is int cut)
            {
                if (bodyBytes < 0)
                {
                    responseHead.AddRange(chunk.ToArray());
                    var end = IndexOfHeadEnd(responseHead);
                    if (end < 0)
                    {
                        continue;
                    }

                    var all = responseHead.ToArray();
                    var body = all.AsMemory(end);
                    var send = (int)Math.Min(cut, body.Length);
                    await downstream.WriteAsync(all.AsMemory(0, end + send), _stop.Token);
                    bodyBytes = send;
                }
                else
                {
                    var send = (int)Math.Min(cut - bodyBytes, n);
                    await downstream.WriteAsync(chunk[..send], _stop.Token);
                    bodyBytes += send;
                }

                if (bodyBytes >= cut)
                {
                    await downstream.FlushAsync(_stop.Token);
                    client.Client.LingerState = new LingerOption(true, 0);
                    return;
                }
            }
            else
            {
                await downstream.WriteAsync(chunk, _stop.Token);
            }
        }
    }

    private async Task WriteStatusAsync(NetworkStream downstream, Fault.Status status)
    {
        const string body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ServerBusy</Code><Message>injected by FaultProxy</Message></Error>";
        var retryAfter = status.RetryAfterSeconds is int seconds ? $"Retry-After: {seconds.ToString(CultureInfo.InvariantCulture)}\r\n" : "";
        var response = $"HTTP/1.1 {status.Code} Injected\r\nContent-Type: application/xml\r\nContent-Length: {body.Length}\r\n{retryAfter}x-ms-error-code: ServerBusy\r\nConnection: close\r\n\r\n{body}";
        await downstream.WriteAsync(Encoding.Latin1.GetBytes(response), _stop.Token);
    }

    private Task DrainBodyAsync(NetworkStream downstream, RequestHead head) => CopyRequestBodyAsync(downstream, head, Stream.Null);

    // Moves the rest of a request body (what followed the head in the first reads is already handled);
    // false when the client went away first.
    private async Task<bool> CopyRequestBodyAsync(NetworkStream downstream, RequestHead head, Stream destination)
    {
        var remaining = head.ContentLength - head.BodyStart.Length;
        var buffer = new byte[64 * 1024];
        while (remaining > 0)
        {
            var read = await downstream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), _stop.Token);
            if (read == 0)
            {
                return false;
            }

            await destination.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            remaining -= read;
        }

        return true;
    }

    private static string WithConnectionClose(string head)
    {
        var lines = head.Split("\r\n").Where(l => l.Length > 0 && !l.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase));
        return string.Join("\r\n", lines) + "\r\nConnection: close\r\n\r\n";
    }

    private sealed record RequestHead(string Text, byte[] BodyStart, long ContentLength);

    private async Task<RequestHead?> ReadHeadAsync(NetworkStream stream)
    {
        var received = new List<byte>();
        var buffer = new byte[8192];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return null;
            }

            received.AddRange(buffer.AsSpan(0, read).ToArray());
            var end = IndexOfHeadEnd(received);
            if (end >= 0)
            {
                var all = received.ToArray();
                var text = Encoding.Latin1.GetString(all, 0, end);
                var length = text.Split("\r\n")
                    .Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                    .Select(l => long.Parse(l["Content-Length:".Length..].Trim(), CultureInfo.InvariantCulture))
                    .FirstOrDefault();
                return new RequestHead(text, all[end..], length);
            }
        }
    }

    // The index just past the blank line ending an HTTP head, or -1.
    private static int IndexOfHeadEnd(List<byte> data)
    {
        for (var i = 3; i < data.Count; i++)
        {
            if (data[i - 3] == '\r' && data[i - 2] == '\n' && data[i - 1] == '\r' && data[i] == '\n')
            {
                return i + 1;
            }
        }

        return -1;
    }
}
