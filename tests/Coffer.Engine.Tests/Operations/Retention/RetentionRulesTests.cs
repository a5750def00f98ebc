using System.Globalization;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Retention;

namespace Coffer.Engine.Tests.Operations.Retention;

/// <summary>The restic rules beyond last/daily/weekly/monthly: hourly, yearly, within, tag, and --group-by.</summary>
public class RetentionRulesTests
{
    private static Snapshot At(string time, string source = "/src", string host = "h", params string[] tags) => new()
    {
        Id = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(time + source + host + string.Join(',', tags)))),
        Time = DateTimeOffset.Parse(time + "Z", CultureInfo.InvariantCulture),
        Hostname = host,
        Source = source,
        Tags = tags,
        Root = new Node { Name = "", Kind = Node.DirectoryKind },
        Summary = new SnapshotSummary(),
    };

    private static List<string> Kept(RetentionPolicy policy, IEnumerable<Snapshot> snapshots)
    {
        var all = snapshots.ToList();
        var kept = policy.Keep(all);
        return all.Where(s => kept.ContainsKey(s.Id)).Select(s => s.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)).ToList();
    }

    // Every 20 minutes for three hours from 2026-03-31 10:00.
    private static List<Snapshot> EveryTwentyMinutes() =>
        Enumerable.Range(0, 9).Select(i => At(new DateTime(2026, 3, 31, 10, 0, 0, DateTimeKind.Utc).AddMinutes(20 * i).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture))).ToList();

    [Test]
    public void Keep_hourly_keeps_the_newest_of_each_of_the_last_hours()
    {
        Assert.That(Kept(new RetentionPolicy { Hourly = 2 }, EveryTwentyMinutes()), Is.EqualTo(new[] { "2026-03-31 11:40", "2026-03-31 12:40" }));
    }

    [Test]
    public void Keep_yearly_keeps_the_newest_of_each_of_the_last_years()
    {
        var snapshots = new[] { At("2023-05-01T00:00:00"), At("2024-02-01T00:00:00"), At("2024-12-31T23:00:00"), At("2026-01-01T00:00:00"), At("2026-06-01T00:00:00") };
        Assert.That(Kept(new RetentionPolicy { Yearly = 2 }, snapshots), Is.EqualTo(new[] { "2024-12-31 23:00", "2026-06-01 00:00" }));
    }

    [Test]
    public void Keep_within_counts_back_from_the_newest_snapshot_of_the_group_not_from_now()
    {
        // The newest snapshot is years old: the rule still keeps the hour before it, as restic's does.
        var policy = new RetentionPolicy { Within = TimeSpan.FromHours(1), WithinText = "1h" };
        Assert.That(Kept(policy, EveryTwentyMinutes()), Is.EqualTo(new[] { "2026-03-31 12:00", "2026-03-31 12:20", "2026-03-31 12:40" }));
        var rules = policy.Keep(EveryTwentyMinutes());
        Assert.That(rules.Values.SelectMany(r => r).Distinct(), Is.EqualTo(new[] { "within 1h" }));

        // Another source's newest snapshot is its own reference point.
        var other = At("2020-01-01T00:00:00", source: "/other");
        Assert.That(Kept(policy, EveryTwentyMinutes().Append(other)), Does.Contain("2020-01-01 00:00"));
    }

    [Test]
    public void Keep_tag_keeps_every_snapshot_with_all_tags_of_one_list()
    {
        var snapshots = new[]
        {
            At("2026-01-01T00:00:00", tags: ["release"]),
            At("2026-01-02T00:00:00", tags: ["nightly"]),
            At("2026-01-03T00:00:00", tags: ["audit", "q1"]),
            At("2026-01-04T00:00:00", tags: ["audit"]),
        };
        var policy = new RetentionPolicy { KeepTags = ["release", "audit,q1"] };
        Assert.That(Kept(policy, snapshots), Is.EqualTo(new[] { "2026-01-01 00:00", "2026-01-03 00:00" }));
        var rules = policy.Keep(snapshots);
        Assert.That(rules[snapshots[0].Id], Is.EqualTo(new[] { "tag release" }));
        Assert.That(rules[snapshots[2].Id], Is.EqualTo(new[] { "tag audit,q1" }));
    }

    [Test]
    public void Rules_are_listed_in_restic_order_for_a_snapshot_several_keep()
    {
        var newest = At("2026-03-31T12:40:00", tags: ["x"]);
        var policy = new RetentionPolicy(Last: 1, Daily: 1) { Hourly = 1, Yearly = 1, Within = TimeSpan.FromDays(7), WithinText = "7d", KeepTags = ["x"] };
        Assert.That(policy.Keep([newest])[newest.Id], Is.EqualTo(new[] { "last", "hourly", "daily", "yearly", "within 7d", "tag x" }));
    }

    [Test]
    public void Default_grouping_is_host_and_paths()
    {
        var snapshots = new[]
        {
            At("2026-01-01T00:00:00", tags: ["a"]),
            At("2026-01-02T00:00:00", tags: ["b"]),
            At("2026-01-03T00:00:00", host: "other"),
            At("2026-01-04T00:00:00", source: "/elsewhere"),
        };
        Assert.That(new RetentionPolicy().GroupBy, Is.EqualTo(RetentionGrouping.Host | RetentionGrouping.Paths));
        Assert.That(Kept(new RetentionPolicy(Last: 1), snapshots), Is.EqualTo(new[] { "2026-01-02 00:00", "2026-01-03 00:00", "2026-01-04 00:00" }));
    }

    [Test]
    public void Group_by_tags_host_or_nothing_changes_what_last_keeps()
    {
        var snapshots = new[]
        {
            At("2026-01-01T00:00:00", tags: ["a"]),
            At("2026-01-02T00:00:00", tags: ["b"]),
            At("2026-01-03T00:00:00", source: "/elsewhere", tags: ["a"]),
        };
        Assert.That(Kept(new RetentionPolicy(Last: 1) { GroupBy = RetentionGrouping.Tags }, snapshots), Is.EqualTo(new[] { "2026-01-02 00:00", "2026-01-03 00:00" }));
        Assert.That(Kept(new RetentionPolicy(Last: 1) { GroupBy = RetentionGrouping.Host | RetentionGrouping.Paths | RetentionGrouping.Tags }, snapshots), Has.Count.EqualTo(3));
        Assert.That(Kept(new RetentionPolicy(Last: 1) { GroupBy = RetentionGrouping.Host }, snapshots), Is.EqualTo(new[] { "2026-01-03 00:00" }));
        Assert.That(Kept(new RetentionPolicy(Last: 1) { GroupBy = RetentionGrouping.None }, snapshots), Is.EqualTo(new[] { "2026-01-03 00:00" }));
    }

    [TestCase("host,paths", 3)]
    [TestCase("tags", 4)]
    [TestCase("host, paths ,tags", 7)]
    [TestCase("", 0)]
    public void Group_by_parses(string text, int expected)
    {
        Assert.That(RetentionPolicy.TryParseGrouping(text, out var grouping), Is.True);
        Assert.That((int)grouping, Is.EqualTo(expected));
    }

    [Test]
    public void Group_by_refuses_an_unknown_key()
    {
        Assert.That(RetentionPolicy.TryParseGrouping("host,user", out _), Is.False);
    }

    [Test]
    public void New_rules_make_the_policy_non_empty()
    {
        Assert.That(new RetentionPolicy().IsEmpty, Is.True);
        Assert.That(new RetentionPolicy { Hourly = 1 }.IsEmpty, Is.False);
        Assert.That(new RetentionPolicy { Yearly = 1 }.IsEmpty, Is.False);
        Assert.That(new RetentionPolicy { Within = TimeSpan.FromDays(1) }.IsEmpty, Is.False);
        Assert.That(new RetentionPolicy { KeepTags = ["x"] }.IsEmpty, Is.False);
        Assert.That(new RetentionPolicy { Yearly = -1 }.HasNegativeCount, Is.True);
    }
}
