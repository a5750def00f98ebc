using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Diff;
using Coffer.Engine.Operations.Maintenance;
using Coffer.Engine.Operations.Retention;
using Coffer.Engine.Repository.Locks;
using Coffer.Engine.Repository.Packs;
using Coffer.Engine.Repository.Portable;
using Coffer.TestSupport;

namespace Coffer.Engine.Tests.Operations.Retention;

public class RetentionPolicyTests
{
    private static Snapshot At(string time, string source = "/src", string host = "h") => new()
    {
        Id = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(time + source + host))),
        Time = DateTimeOffset.Parse(time + "Z", System.Globalization.CultureInfo.InvariantCulture),
        Hostname = host,
        Source = source,
        Root = new Node { Name = "", Kind = Node.DirectoryKind },
        Summary = new SnapshotSummary(),
    };

    private static List<string> Kept(RetentionPolicy policy, IEnumerable<Snapshot> snapshots)
    {
        var all = snapshots.ToList();
        var kept = policy.Keep(all);
        return all.Where(s => kept.ContainsKey(s.Id)).Select(s => s.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture)).ToList();
    }

    // Every 6 hours from 2026-01-01 00:00 to 2026-03-31 18:00.
    private static List<Snapshot> EverySixHours() =>
        Enumerable.Range(0, 90 * 4).Select(i => At(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddHours(6 * i).ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture))).ToList();

    [Test]
    public void Keep_last_keeps_the_newest_per_host_and_source()
    {
        var snapshots = EverySixHours().Concat([At("2025-06-01T00:00:00", source: "/other")]).ToList();
        Assert.That(Kept(new RetentionPolicy(Last: 2), snapshots), Is.EqualTo(new[] { "2026-03-31 12:00", "2026-03-31 18:00", "2025-06-01 00:00" }));
    }

    [Test]
    public void Keep_daily_keeps_the_newest_of_each_of_the_last_days()
    {
        Assert.That(Kept(new RetentionPolicy(Daily: 3), EverySixHours()), Is.EqualTo(new[] { "2026-03-29 18:00", "2026-03-30 18:00", "2026-03-31 18:00" }));
    }

    [Test]
    public void Days_without_a_snapshot_do_not_count()
    {
        var snapshots = new[] { At("2026-01-01T10:00:00"), At("2026-01-05T10:00:00"), At("2026-01-05T11:00:00"), At("2026-01-09T10:00:00") };
        Assert.That(Kept(new RetentionPolicy(Daily: 2), snapshots), Is.EqualTo(new[] { "2026-01-05 11:00", "2026-01-09 10:00" }));
    }

    [Test]
    public void Keep_weekly_uses_iso_weeks_and_monthly_calendar_months()
    {
        // 2026-03-31 is a Tuesday: ISO week 14 starts Monday 03-30.
        Assert.That(Kept(new RetentionPolicy(Weekly: 2), EverySixHours()), Is.EqualTo(new[] { "2026-03-29 18:00", "2026-03-31 18:00" }));
        Assert.That(Kept(new RetentionPolicy(Monthly: 2), EverySixHours()), Is.EqualTo(new[] { "2026-02-28 18:00", "2026-03-31 18:00" }));
    }

    [Test]
    public void Rules_combine_a_snapshot_kept_by_any_is_kept()
    {
        var kept = new RetentionPolicy(Last: 1, Daily: 2, Monthly: 3).Keep(EverySixHours());
        Assert.That(kept, Has.Count.EqualTo(4)); // 03-31 18:00 (last, daily, monthly), 03-30 18:00, 02-28 18:00, 01-31 18:00
        Assert.That(kept.Values.Select(r => string.Join(",", r)), Does.Contain("last,daily,monthly"));
    }

    [TestCase("30d", 30 * 24 * 3600)]
    [TestCase("12h", 12 * 3600)]
    [TestCase("90m", 90 * 60)]
    [TestCase("2w", 14 * 24 * 3600)]
    [TestCase("1y", 365 * 24 * 3600)]
    public void Durations_parse(string text, long seconds)
    {
        Assert.That(RetentionPolicy.TryParseDuration(text, out var d), Is.True);
        Assert.That(d.TotalSeconds, Is.EqualTo(seconds));
    }

    [TestCase("")]
    [TestCase("d")]
    [TestCase("30")]
    [TestCase("-3d")]
    [TestCase("3 d")]
    [TestCase("3x")]
    public void Bad_durations_do_not_parse(string text) => Assert.That(RetentionPolicy.TryParseDuration(text, out _), Is.False);
}
