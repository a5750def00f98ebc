using Coffer.Keep;

using Coffer.TestSupport;

namespace Coffer.Keep.Tests;

public class BlockBufferPoolTests
{
    [Test]
    public async Task At_most_max_buffers_are_out_and_a_request_waits_for_one()
    {
        using var pool = new BlockBufferPool(2);
        using var first = await pool.RentAsync(10, CancellationToken.None);
        using var second = await pool.RentAsync(1_000_000, CancellationToken.None);

        var third = pool.RentAsync(5, CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.That(third.IsCompleted, Is.False);
        Assert.That(pool.InUse, Is.EqualTo(2));

        first.Dispose();
        using var got = await third.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(got.Capacity, Is.EqualTo(5));
    }

    [Test]
    public async Task Arrays_are_reused_and_a_small_block_does_not_take_a_whole_block_sized_array()
    {
        using var pool = new BlockBufferPool(1);
        byte[] array;
        using (var small = await pool.RentAsync(100, CancellationToken.None))
        {
            array = small.Array;
            Assert.That(array.Length, Is.LessThan(1024 * 1024));
        }

        using (var again = await pool.RentAsync(200, CancellationToken.None))
        {
            Assert.That(again.Array, Is.SameAs(array));
        }

        Assert.That(pool.BytesAllocatedCumulative, Is.EqualTo(array.Length));
    }

    [Test]
    public void Waiting_for_a_buffer_ends_when_the_request_is_cancelled()
    {
        using var pool = new BlockBufferPool(1);
        using var held = pool.RentAsync(1, CancellationToken.None).AsTask().Result;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        Assert.ThrowsAsync<OperationCanceledException>(async () => await pool.RentAsync(1, cancel.Token));
    }

    [Test]
    public async Task The_fill_stream_refuses_to_overflow_its_buffer()
    {
        using var pool = new BlockBufferPool(1);
        using var buffer = await pool.RentAsync(4, CancellationToken.None);
        using var fill = buffer.OpenFill();

        await fill.WriteAsync(new byte[] { 1, 2, 3 });
        Assert.ThrowsAsync<BlockTooLargeException>(async () => await fill.WriteAsync(new byte[] { 4, 5 }));
        Assert.That(fill.Length, Is.EqualTo(3));
    }
}
