using Coffer.Keep;

using Coffer.TestSupport;

namespace Coffer.Keep.Tests;

public class KeepLocatorTests
{
    [TestCase("acbd18db4cc2f85cedef654fccc4a4d8", null)]
    [TestCase("acbd18db4cc2f85cedef654fccc4a4d8+3", 3L)]
    [TestCase("acbd18db4cc2f85cedef654fccc4a4d8+3+Aabc@12345678+K@zzzzz", 3L)]
    [TestCase("acbd18db4cc2f85cedef654fccc4a4d8+Aabc@12345678", null)]
    public void Locators_with_hints_parse(string text, long? size)
    {
        Assert.That(KeepLocator.TryParse(text, out var locator), Is.True);
        Assert.That(locator.Hash, Is.EqualTo("acbd18db4cc2f85cedef654fccc4a4d8"));
        Assert.That(locator.Size, Is.EqualTo(size));
    }

    [TestCase("ACBD18DB4CC2F85CEDEF654FCCC4A4D8")]
    [TestCase("acbd18db4cc2f85cedef654fccc4a4d")]
    [TestCase("acbd18db4cc2f85cedef654fccc4a4d8x")]
    [TestCase("index")]
    public void Non_locators_are_refused(string text)
    {
        Assert.That(KeepLocator.TryParse(text, out _), Is.False);
    }

    [TestCase("0", 0)]
    [TestCase("336h", 336 * 3600.0)]
    [TestCase("1h30m15s", 5415.0)]
    [TestCase("250ms", 0.25)]
    [TestCase("1.5h", 5400.0)]
    [TestCase("42", 42.0)]
    public void Go_durations_parse(string text, double seconds)
    {
        Assert.That(GoDuration.TryParse(text, out var duration), Is.True);
        Assert.That(duration, Is.EqualTo(TimeSpan.FromSeconds(seconds)));
    }

    [TestCase("")]
    [TestCase("h")]
    [TestCase("3d")]
    [TestCase("1h30")]
    [TestCase("soon")]
    public void Bad_durations_are_refused(string text)
    {
        Assert.That(GoDuration.TryParse(text, out _), Is.False);
    }
}
