using System.Net;
using System.Net.Sockets;
using System.Text;
using Coffer.TestSupport;

namespace Coffer.Keep.Tests;

/// <summary>
/// Clients that hold the server's block buffers without sending their bodies (issue 22, "Keep fairness"): a slow
/// body ends with keepstore's 408, and a trickle attack from one address leaves the other clients served.
/// </summary>
public class KeepstoreFairnessTests
{
    // Attackers come from another loopback address than the well-behaved clients (all of 127/8 is loopback on Linux).
    private static readonly IPAddress AttackerAddress = IPAddress.Parse("127.0.0.2");

    // Generous: the limits answer within seconds, an unprotected server never (the attack outlasts the test).
    private static readonly TimeSpan ServedWithin = TimeSpan.FromSeconds(30);

    private TemporaryDirectory _root = null!;
    private CofferProcess _coffer = null!;

    [OneTimeSetUp]
    public void SetUpCoffer()
    {
        _root = new TemporaryDirectory("keepfair");
        _coffer = KeepstoreProcess.CofferWithPlugins(_root);
    }

    [OneTimeTearDown]
    public void TearDownCoffer() => _root.Dispose();

    private string NewDisk(string name) => Directory.CreateDirectory(_root.Combine($"{name}-{Guid.NewGuid():N}")).FullName;

    /// <summary>Opens a connection from <paramref name="from"/> and sends the head of a PUT announcing <paramref name="length"/> bytes.</summary>
    private static async Task<TcpClient> StartPutAsync(KeepstoreProcess keep, IPAddress from, string hash, long length)
    {
        var client = new TcpClient(new IPEndPoint(from, 0));
        await client.ConnectAsync(keep.BaseAddress.Host, keep.BaseAddress.Port);
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"PUT /{hash} HTTP/1.1\r\nHost: keep\r\nContent-Length: {length}\r\n\r\n"));
        return client;
    }

    /// <summary>Reads the server's answer: its head and its Content-Length of body, or whatever came before the server hung up.</summary>
    private static async Task<string> ReadAnswerAsync(TcpClient client, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await client.GetStream().ReadAsync(buffer, cancellationToken)) > 0)
            {
                received.Write(buffer, 0, read);
                var text = Encoding.ASCII.GetString(received.ToArray());
                if (text.IndexOf("\r\n\r\n", StringComparison.Ordinal) is var end and >= 0 &&
                    ContentLength(text[..end]) is { } length && text.Length >= end + 4 + length)
                {
                    return text;
                }
            }
        }
        catch (IOException)
        {
            // The server reset the connection after answering.
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    private static int? ContentLength(string head) =>
        head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) is { } line
            ? int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)
            : null;

    [Test]
    public async Task A_body_that_stops_coming_answers_408_in_keepstores_words_and_gives_its_buffer_back()
    {
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", NewDisk("slow"), "-max-buffers", "1");
        var block = KeepstoreProcess.RandomBlock(1000);
        var hash = KeepstoreProcess.Md5(block);

        using var slow = await StartPutAsync(keep, IPAddress.Loopback, hash, block.Length);
        await slow.GetStream().WriteAsync(block.AsMemory(0, 10));
        using var timeout = new CancellationTokenSource(ServedWithin);
        var answer = await ReadAnswerAsync(slow, timeout.Token);

        Assert.That(answer, Does.StartWith("HTTP/1.1 408 "), keep.Log);
        Assert.That(answer, Does.Contain("\r\nRequest Timeout\n").And.Not.Contain("MinRequestBodyDataRate"), "keepstore's text, not Kestrel's message");
        Assert.That(keep.Log, Does.Contain($"PUT /{hash} 408 "));

        // The only buffer is free again.
        Assert.That(await keep.PutBlockAsync(block), Does.StartWith($"{hash}+1000"));
    }

    [Test]
    public async Task Clients_trickling_huge_bodies_from_one_address_leave_other_clients_served()
    {
        // Scaled down from 130 trickling PUTs against 128 buffers: 6 against 4.
        const int attackers = 6;
        var disk = NewDisk("trickle");
        await using var keep = await KeepstoreProcess.StartAsync(_coffer, "-volume", disk, "-max-buffers", "4");
        var stored = KeepstoreProcess.RandomBlock(50_000);
        await keep.PutBlockAsync(stored);

        using var stop = new CancellationTokenSource();
        var connections = new List<TcpClient>();
        var trickles = new List<Task>();
        for (var i = 0; i < attackers; i++)
        {
            var connection = await StartPutAsync(keep, AttackerAddress, KeepstoreProcess.Md5([(byte)i]), 64L * 1024 * 1024);
            connections.Add(connection);
            trickles.Add(TrickleAsync(connection.GetStream(), stop.Token));
        }

        try
        {
            // Every attacker has sent data, so each holds a buffer or has been refused one.
            await Task.Delay(TimeSpan.FromSeconds(1.5));

            using var bound = new CancellationTokenSource(ServedWithin);
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
            for (var i = 0; i < 3; i++)
            {
                var block = KeepstoreProcess.RandomBlock(100_000 + i);
                using var put = await http.PutAsync(new Uri(keep.BaseAddress, KeepstoreProcess.Md5(block)), new ByteArrayContent(block), bound.Token);
                Assert.That((int)put.StatusCode, Is.EqualTo(200), $"PUT {i} during the attack\n{keep.Log}");
            }

            // A GET without a size hint takes a whole 64 MiB buffer.
            using var get = await http.GetAsync(new Uri(keep.BaseAddress, KeepstoreProcess.Md5(stored)), bound.Token);
            Assert.That((int)get.StatusCode, Is.EqualTo(200), keep.Log);
            Assert.That(await get.Content.ReadAsByteArrayAsync(bound.Token), Is.EqualTo(stored));

            // The attackers got no more than their share: the rest were refused at once, the holders cut off as too slow.
            var answers = new List<string>();
            foreach (var connection in connections)
            {
                answers.Add((await ReadAnswerAsync(connection, bound.Token)).Split("\r\n")[0]);
            }

            Assert.That(answers.Count(a => a.StartsWith("HTTP/1.1 503 ", StringComparison.Ordinal)), Is.EqualTo(attackers - 2), string.Join("\n", answers));
            Assert.That(answers.Count(a => a.StartsWith("HTTP/1.1 408 ", StringComparison.Ordinal)), Is.EqualTo(2), string.Join("\n", answers));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(trickles);
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }
    }

    /// <summary>Sends 1 KiB a second until stopped or the server hangs up.</summary>
    private static async Task TrickleAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var piece = new byte[1024];
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await stream.WriteAsync(piece, cancellationToken);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Stopped, or cut off by the server.
        }
    }
}
