using System.Security.Cryptography;
using System.Text;
using Coffer.Keep;
using Coffer.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace Coffer.Keep.Tests;

public class BlobSignerTests
{
    private const string Hash = "acbd18db4cc2f85cedef654fccc4a4d8";
    private const string Token = "4axaw8zxe0qm22wa6urpp5nskcne8z88cvbupv653y1njyi05h";
    private static readonly byte[] Key = Encoding.ASCII.GetBytes("z2yo3ki5ndt6hmyqkfzt7onb1b0uj7edwy9c8tbqqhbkhl8t7e");
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 3, 0, 0, TimeSpan.Zero);

    // Computed here from the Keep locator format, independently of the code under test.
    private static string ArvadosSignature(string hash, string token, long expiryUnixSeconds, long? ttlSeconds = null)
    {
        var expiryHex = expiryUnixSeconds.ToString("x8");
        var message = ttlSeconds is null ? $"{hash}@{token}@{expiryHex}" : $"{hash}@{token}@{expiryHex}@{ttlSeconds.Value:x}";
#pragma warning disable CA5350 // Arvados' signatures are HMAC-SHA1.
        using var hmac = new HMACSHA1(Key);
#pragma warning restore CA5350
        var digest = hmac.ComputeHash(Encoding.UTF8.GetBytes(message));
        return $"+A{string.Concat(digest.Select(b => b.ToString("x2")))}@{expiryHex}";
    }

    private static BlobSigner Signer(FakeTimeProvider? time = null) =>
        new(Key, TimeSpan.FromDays(14), time ?? new FakeTimeProvider(Now));

    private static KeepLocator Locator(string text)
    {
        Assert.That(KeepLocator.TryParse(text, out var locator), Is.True, text);
        return locator;
    }

    [Test]
    public void A_signed_locator_is_what_arvados_computes_with_the_ttl_in_the_message()
    {
        var expiry = Now.AddDays(14);

        var signed = Signer().Sign($"{Hash}+3", Token, expiry);

        // hash@token@expiryhex@ttlhex, as Arvados' SignLocator and the API server's Blob.sign_locator: 14 days is 0x127500 s.
        Assert.That(signed, Is.EqualTo($"{Hash}+3{ArvadosSignature(Hash, Token, expiry.ToUnixTimeSeconds(), 14 * 86400)}"));
        Assert.That(signed, Is.Not.EqualTo($"{Hash}+3{ArvadosSignature(Hash, Token, expiry.ToUnixTimeSeconds())}"), "not the pre-2016 form");
        Assert.That(signed, Does.Match("^[0-9a-f]{32}\\+3\\+A[0-9a-f]{40}@[0-9a-f]{8}$"));
    }

    [Test]
    public void The_signature_of_arvados_own_known_answer_test_is_reproduced()
    {
        // The key, token, TTL (1209600 s) and expected signature of sdk/go/arvados/blob_signature_test.go.
        var key = Encoding.ASCII.GetBytes(
            "13u9fkuccnboeewr0ne3mvapk28epf68a3bhj9q8sb4l6e4e5mkk" +
            "p6nhj2mmpscgu1zze5h5enydxfe3j215024u16ij4hjaiqs5u4pzsl3nczmaoxnc" +
            "ljkm4875xqn4xv058koz3vkptmzhyheiy6wzevzjmdvxhvcqsvr5abhl15c2d4o4" +
            "jhl0s91lojy1mtrzqqvprqcverls0xvy9vai9t1l1lvvazpuadafm71jl4mrwq2y" +
            "gokee3eamvjy8qq1fvy238838enjmy5wzy2md7yvsitp5vztft6j4q866efym7e6" +
            "vu5wm9fpnwjyxfldw3vbo01mgjs75rgo7qioh8z8ij7jpyp8508okhgbbex3ceei" +
            "786u5rw2a9gx743dj3fgq2irk");
        const string token = "hocfupkn2pjhrpgp2vxv8rsku7tvtx49arbc9s4bvu7p7wxqvk";
        const string expected = "acbd18db4cc2f85cedef654fccc4a4d8+3+A89118b78732c33104a4d6231e8b5a5fa1e4301e3@7fffffff";
        var signer = new BlobSigner(key, TimeSpan.FromSeconds(1209600), new FakeTimeProvider(Now));

        Assert.That(signer.Sign("acbd18db4cc2f85cedef654fccc4a4d8+3", token, DateTimeOffset.FromUnixTimeSeconds(0x7fffffff)), Is.EqualTo(expected));
        Assert.That(signer.Verify(Locator(expected), token), Is.EqualTo(SignatureCheck.Valid));
    }

    [Test]
    public void Signing_uses_the_ttl_from_now()
    {
        var signed = Signer().Sign(Hash, Token);

        Assert.That(signed, Does.EndWith($"@{Now.AddDays(14).ToUnixTimeSeconds():x8}"));
    }

    [Test]
    public void A_valid_signature_is_accepted_in_both_arvados_message_forms()
    {
        var expiry = Now.AddHours(1).ToUnixTimeSeconds();

        Assert.That(Signer().Verify(Locator($"{Hash}+3{ArvadosSignature(Hash, Token, expiry)}"), Token), Is.EqualTo(SignatureCheck.Valid));
        Assert.That(Signer().Verify(Locator($"{Hash}+3{ArvadosSignature(Hash, Token, expiry, 14 * 86400)}+K@zzzzz"), Token), Is.EqualTo(SignatureCheck.Valid));
    }

    [Test]
    public void An_expired_signature_is_refused_as_expired()
    {
        var time = new FakeTimeProvider(Now);
        var signed = Signer(time).Sign($"{Hash}+3", Token, Now.AddSeconds(10));
        Assert.That(Signer(time).Verify(Locator(signed), Token), Is.EqualTo(SignatureCheck.Valid));

        time.Advance(TimeSpan.FromSeconds(11));

        Assert.That(Signer(time).Verify(Locator(signed), Token), Is.EqualTo(SignatureCheck.Expired));
    }

    [Test]
    public void Tampered_signatures_are_refused()
    {
        var signed = Signer().Sign($"{Hash}+3", Token, Now.AddDays(1));
        var signature = signed[(signed.IndexOf("+A", StringComparison.Ordinal) + 2)..signed.IndexOf('@')];
        var flipped = (signature[0] == '0' ? "1" : "0") + signature[1..];
        var laterExpiry = Now.AddDays(2).ToUnixTimeSeconds().ToString("x8");

        Assert.Multiple(() =>
        {
            Assert.That(Signer().Verify(Locator(signed.Replace(signature, flipped)), Token), Is.EqualTo(SignatureCheck.Invalid), "signature digit");
            Assert.That(Signer().Verify(Locator(signed[..^8] + laterExpiry), Token), Is.EqualTo(SignatureCheck.Invalid), "expiry pushed later");
            Assert.That(Signer().Verify(Locator("37b51d194a7513e45b56f6524f2d51f2" + signed[32..]), Token), Is.EqualTo(SignatureCheck.Invalid), "another block");
            Assert.That(Signer().Verify(Locator(signed), Token + "x"), Is.EqualTo(SignatureCheck.Invalid), "another token");
            Assert.That(Signer().Verify(Locator(signed), ""), Is.EqualTo(SignatureCheck.Invalid), "no token");
            Assert.That(new BlobSigner(Encoding.ASCII.GetBytes("other key"), TimeSpan.FromDays(14), new FakeTimeProvider(Now)).Verify(Locator(signed), Token), Is.EqualTo(SignatureCheck.Invalid), "another key");
            Assert.That(Signer().Verify(Locator(signed.Replace(signature, signature.ToUpperInvariant())), Token), Is.Not.EqualTo(SignatureCheck.Valid), "upper-case signature");
            Assert.That(Signer().Verify(Locator($"{Hash}+3"), Token), Is.EqualTo(SignatureCheck.Missing), "unsigned");
        });
    }
}
