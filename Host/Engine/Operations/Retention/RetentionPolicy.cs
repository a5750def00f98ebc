using System.Globalization;
using Coffer.Engine.Core.Model;

namespace Coffer.Engine.Operations.Retention;

/// <summary>What snapshots are grouped by before a policy applies to each group (restic's <c>--group-by</c>).</summary>
[Flags]
internal enum RetentionGrouping
{
    /// <summary>All snapshots form one group.</summary>
    None = 0,

    /// <summary>Snapshots of one host form a group.</summary>
    Host = 1,

    /// <summary>Snapshots of one source path form a group.</summary>
    Paths = 2,

    /// <summary>Snapshots with the same set of tags form a group.</summary>
    Tags = 4,
}

/// <summary>
/// restic's keep policy: within each group of snapshots (by <see cref="GroupBy"/>: same host and source
/// unless told otherwise), newest first, <c>last</c> keeps the N newest;
/// <c>hourly</c>/<c>daily</c>/<c>weekly</c>/<c>monthly</c>/<c>yearly</c> keep the newest snapshot of each of
/// the N most recent hours/days/ISO weeks/months/years that have one; <see cref="Within"/> keeps every
/// snapshot newer than the group's newest snapshot minus that duration (restic's reference point, so an
/// old store whose backups stopped is not emptied); <see cref="KeepTags"/> keeps every snapshot carrying
/// all the tags of one of its comma-separated lists. A snapshot kept by any rule is kept.
/// </summary>
internal sealed record RetentionPolicy(int Last = 0, int Daily = 0, int Weekly = 0, int Monthly = 0)
{
    public int Hourly { get; init; }

    public int Yearly { get; init; }

    public TimeSpan? Within { get; init; }

    /// <summary>How <see cref="Within"/> was written, for the rule's name ("within 7d").</summary>
    public string? WithinText { get; init; }

    public IReadOnlyList<string> KeepTags { get; init; } = [];

    public RetentionGrouping GroupBy { get; init; } = RetentionGrouping.Host | RetentionGrouping.Paths;

    public bool IsEmpty => Last == 0 && Hourly == 0 && Daily == 0 && Weekly == 0 && Monthly == 0 && Yearly == 0 && Within is null && KeepTags.Count == 0;

    public bool HasNegativeCount => Last < 0 || Hourly < 0 || Daily < 0 || Weekly < 0 || Monthly < 0 || Yearly < 0;

    /// <summary>Parses <c>host,paths,tags</c> (any subset, comma-separated; empty: one group of all).</summary>
    public static bool TryParseGrouping(string text, out RetentionGrouping grouping)
    {
        grouping = RetentionGrouping.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            RetentionGrouping? one = part switch
            {
                "host" => RetentionGrouping.Host,
                "paths" or "path" => RetentionGrouping.Paths,
                "tags" or "tag" => RetentionGrouping.Tags,
                _ => null,
            };
            if (one is null)
            {
                return false;
            }

            grouping |= one.Value;
        }

        return true;
    }

    private string GroupKey(Snapshot snapshot) => string.Join('\0',
        GroupBy.HasFlag(RetentionGrouping.Host) ? snapshot.Hostname : "",
        GroupBy.HasFlag(RetentionGrouping.Paths) ? snapshot.Source : "",
        GroupBy.HasFlag(RetentionGrouping.Tags) ? string.Join(',', snapshot.Tags.Order(StringComparer.Ordinal)) : "");

    /// <summary>The snapshots to keep, each with the rules that keep it.</summary>
    public Dictionary<string, List<string>> Keep(IEnumerable<Snapshot> snapshots)
    {
        var kept = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var group in snapshots.GroupBy(GroupKey, StringComparer.Ordinal))
        {
            var newestFirst = group.OrderByDescending(s => s.Time).ThenByDescending(s => s.Id, StringComparer.Ordinal).ToList();
            Apply(newestFirst, "last", Last, s => s.Id, kept);
            Apply(newestFirst, "hourly", Hourly, s => s.Time.UtcDateTime.ToString("yyyy-MM-dd HH", CultureInfo.InvariantCulture), kept);
            Apply(newestFirst, "daily", Daily, s => s.Time.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), kept);
            Apply(newestFirst, "weekly", Weekly, s => string.Create(CultureInfo.InvariantCulture, $"{ISOWeek.GetYear(s.Time.UtcDateTime)}-{ISOWeek.GetWeekOfYear(s.Time.UtcDateTime)}"), kept);
            Apply(newestFirst, "monthly", Monthly, s => s.Time.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture), kept);
            Apply(newestFirst, "yearly", Yearly, s => s.Time.UtcDateTime.ToString("yyyy", CultureInfo.InvariantCulture), kept);
            if (Within is { } within && newestFirst.Count > 0)
            {
                // Strictly newer, as restic compares.
                var since = newestFirst[0].Time - within;
                foreach (var snapshot in newestFirst.Where(s => s.Time > since))
                {
                    AddRule(kept, snapshot, $"within {WithinText ?? within.ToString("c", CultureInfo.InvariantCulture)}");
                }
            }

            foreach (var list in KeepTags)
            {
                var tags = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                foreach (var snapshot in newestFirst.Where(s => tags.All(t => s.Tags.Contains(t, StringComparer.Ordinal))))
                {
                    AddRule(kept, snapshot, $"tag {list}");
                }
            }
        }

        return kept;
    }

    private static void Apply(List<Snapshot> newestFirst, string rule, int count, Func<Snapshot, string> bucket, Dictionary<string, List<string>> kept)
    {
        string? last = null;
        foreach (var snapshot in newestFirst)
        {
            if (count <= 0)
            {
                return;
            }

            var b = bucket(snapshot);
            if (b == last)
            {
                continue;
            }

            last = b;
            count--;
            AddRule(kept, snapshot, rule);
        }
    }

    private static void AddRule(Dictionary<string, List<string>> kept, Snapshot snapshot, string rule)
    {
        if (!kept.TryGetValue(snapshot.Id, out var rules))
        {
            kept[snapshot.Id] = rules = [];
        }

        rules.Add(rule);
    }

    /// <summary>Parses <c>30d</c>, <c>12h</c>, <c>90m</c>, <c>2w</c>, <c>1y</c> (365 days), <c>45s</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 100_000)
        {
            return false;
        }

        TimeSpan? unit = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(1),
            'm' => TimeSpan.FromMinutes(1),
            'h' => TimeSpan.FromHours(1),
            'd' => TimeSpan.FromDays(1),
            'w' => TimeSpan.FromDays(7),
            'y' => TimeSpan.FromDays(365),
            _ => null,
        };
        if (unit is null)
        {
            return false;
        }

        duration = unit.Value * n;
        return true;
    }
}
