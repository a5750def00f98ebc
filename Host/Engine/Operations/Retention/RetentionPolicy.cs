using System.Globalization;
using Coffer.Engine.Core.Model;

namespace Coffer.Engine.Operations.Retention;

/// <summary>
/// restic's keep policy: within each group of snapshots (same host and source), newest first,
/// <c>last</c> keeps the N newest; <c>daily</c>/<c>weekly</c>/<c>monthly</c> keep the newest snapshot of
/// each of the N most recent days/ISO weeks/months that have one. A snapshot kept by any rule is kept.
/// </summary>
internal sealed record RetentionPolicy(int Last = 0, int Daily = 0, int Weekly = 0, int Monthly = 0)
{
    public bool IsEmpty => Last == 0 && Daily == 0 && Weekly == 0 && Monthly == 0;

    /// <summary>The snapshots to keep, each with the rules that keep it.</summary>
    public Dictionary<string, List<string>> Keep(IEnumerable<Snapshot> snapshots)
    {
        var kept = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var group in snapshots.GroupBy(s => (s.Hostname, s.Source)))
        {
            var newestFirst = group.OrderByDescending(s => s.Time).ThenByDescending(s => s.Id, StringComparer.Ordinal).ToList();
            Apply(newestFirst, "last", Last, s => s.Id, kept);
            Apply(newestFirst, "daily", Daily, s => s.Time.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), kept);
            Apply(newestFirst, "weekly", Weekly, s => string.Create(CultureInfo.InvariantCulture, $"{ISOWeek.GetYear(s.Time.UtcDateTime)}-{ISOWeek.GetWeekOfYear(s.Time.UtcDateTime)}"), kept);
            Apply(newestFirst, "monthly", Monthly, s => s.Time.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture), kept);
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
            if (!kept.TryGetValue(snapshot.Id, out var rules))
            {
                kept[snapshot.Id] = rules = [];
            }

            rules.Add(rule);
        }
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
