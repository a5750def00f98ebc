using System.Buffers.Binary;
using System.Globalization;

namespace Coffer.Engine.Operations.Check;

/// <summary>
/// The part of the packs a <c>check --read-data-subset</c> reads (restic's option): <c>K/N</c> splits the
/// packs into N groups by their id and takes group K, so running K = 1..N (one a night, say) reads every
/// pack exactly once; <c>P%</c> takes that share of the packs at random, at least one.
/// </summary>
internal sealed record PackSubset
{
    private PackSubset(int group, int groups, double percent, string text)
    {
        Group = group;
        Groups = groups;
        Percent = percent;
        Text = text;
    }

    /// <summary>K of K/N (1-based); 0 for a percentage.</summary>
    public int Group { get; }

    /// <summary>N of K/N; 0 for a percentage.</summary>
    public int Groups { get; }

    /// <summary>P of P%; 0 for K/N.</summary>
    public double Percent { get; }

    /// <summary>As the user wrote it.</summary>
    public string Text { get; }

    /// <summary>Parses <c>K/N</c> (1 ≤ K ≤ N) or <c>P%</c> (0 &lt; P ≤ 100); <paramref name="error"/> says what is wrong otherwise.</summary>
    public static bool TryParse(string text, out PackSubset? subset, out string error)
    {
        subset = null;
        error = "";
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            if (!int.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var k)
                || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                error = $"--read-data-subset '{text}' is not K/N or P%: e.g. 1/7 or 5%";
                return false;
            }

            if (n < 1 || k < 1 || k > n)
            {
                error = $"--read-data-subset '{text}': K/N needs 1 <= K <= N";
                return false;
            }

            subset = new PackSubset(k, n, 0, text);
            return true;
        }

        if (text.EndsWith('%')
            && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var percent))
        {
            if (percent <= 0 || percent > 100)
            {
                error = $"--read-data-subset '{text}': a percentage must be more than 0 and at most 100";
                return false;
            }

            subset = new PackSubset(0, 0, percent, text);
            return true;
        }

        error = $"--read-data-subset '{text}' is not K/N or P%: e.g. 1/7 or 5%";
        return false;
    }

    /// <summary>The packs to read among <paramref name="packs"/> (hex ids), in id order.</summary>
    public IReadOnlyList<string> Select(IEnumerable<string> packs, Random random)
    {
        var all = packs.Order(StringComparer.Ordinal).ToList();
        if (Groups > 0)
        {
            // The id is a SHA-256, so its first 32 bits spread packs evenly over the groups, and a pack's group never changes.
            return all.Where(p => BinaryPrimitives.ReadUInt32BigEndian(Convert.FromHexString(p.AsSpan(0, 8))) % (uint)Groups == (uint)(Group - 1)).ToList();
        }

        if (all.Count == 0)
        {
            return all;
        }

        var count = Math.Max(1, (int)Math.Round(all.Count * Percent / 100, MidpointRounding.AwayFromZero));
        var shuffled = all.ToArray();
        random.Shuffle(shuffled);
        return shuffled.Take(count).Order(StringComparer.Ordinal).ToList();
    }
}
