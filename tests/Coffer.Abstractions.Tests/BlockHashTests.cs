using System.Text;
using Coffer.Abstractions;

namespace Coffer.Abstractions.Tests;

public class BlockHashTests
{
    [Test]
    public void The_hash_of_a_block_is_its_lower_case_md5_hex()
    {
        // Known MD5 values: the empty block and "foo" (as Keep's own tests use).
        Assert.That(BlockHash.Compute([]), Is.EqualTo("d41d8cd98f00b204e9800998ecf8427e"));
        Assert.That(BlockHash.Compute(Encoding.ASCII.GetBytes("foo")), Is.EqualTo("acbd18db4cc2f85cedef654fccc4a4d8"));
    }

    [TestCase("acbd18db4cc2f85cedef654fccc4a4d8", true)]
    [TestCase("ACBD18DB4CC2F85CEDEF654FCCC4A4D8", false)]
    [TestCase("acbd18db4cc2f85cedef654fccc4a4d", false)]
    [TestCase("acbd18db4cc2f85cedef654fccc4a4dg", false)]
    [TestCase("../../../../etc/passwd0000000000", false)]
    public void Only_32_lower_case_hex_digits_are_a_block_hash(string candidate, bool valid) =>
        Assert.That(BlockHash.IsValid(candidate), Is.EqualTo(valid));

    [Test]
    public void An_index_line_is_hash_plus_size_and_mtime_in_nanoseconds()
    {
        var mtime = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000).AddTicks(1234567);
        var line = new BlockInfo("acbd18db4cc2f85cedef654fccc4a4d8", 3, mtime).ToString();
        Assert.That(line, Is.EqualTo("acbd18db4cc2f85cedef654fccc4a4d8+3 1700000000123456700"));
    }
}
