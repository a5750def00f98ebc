using System.Text;
using System.Text.Json.Nodes;
using NUnit.Framework;

namespace Coffer.TestSupport;

/// <summary>Seeded mutations of real bytes: bit flips, truncations, extensions, overwritten ranges, and JSON field changes.</summary>
internal static class Mutator
{
    private static readonly JsonNode?[] HostileValues =
    [
        null, 0, -1, 1, int.MaxValue, int.MinValue, long.MaxValue, 1e300, "", "../x", "/etc/passwd", "..", "a/../../b", "\u0000",
        new string('A', 10_000), true, new JsonArray(), new JsonObject(), "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ];

    /// <summary>Returns a mutated copy and a short description of what was done.</summary>
    public static (byte[] Bytes, string What) Mutate(Random random, byte[] original)
    {
        var choice = random.Next(original.Length > 0 && original[0] == (byte)'{' ? 7 : 6);
        switch (choice)
        {
            case 0:
                {
                    var copy = (byte[])original.Clone();
                    var flips = 1 + random.Next(8);
                    for (var i = 0; i < flips && copy.Length > 0; i++)
                    {
                        copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
                    }

                    return (copy, $"{flips} bit flips");
                }

            case 1:
                {
                    var length = random.Next(original.Length);
                    return (original[..length], $"truncated to {length}");
                }

            case 2:
                {
                    var extra = new byte[1 + random.Next(64)];
                    random.NextBytes(extra);
                    return ([.. original, .. extra], $"{extra.Length} bytes appended");
                }

            case 3:
                {
                    var copy = (byte[])original.Clone();
                    if (copy.Length == 0)
                    {
                        return (copy, "empty");
                    }

                    var start = random.Next(copy.Length);
                    var length = Math.Min(copy.Length - start, 1 + random.Next(16));
                    random.NextBytes(copy.AsSpan(start, length));
                    return (copy, $"{length} random bytes at {start}");
                }

            case 4:
                {
                    // A 32-bit field set to an extreme: lengths, offsets and counts in binary headers.
                    var copy = (byte[])original.Clone();
                    if (copy.Length < 4)
                    {
                        return (copy, "unchanged (short)");
                    }

                    var at = random.Next(copy.Length - 3);
                    uint[] extremes = [0, 1, 0x7fffffff, 0xffffffff, 0x80000000, (uint)copy.Length, (uint)copy.Length + 1];
                    var value = extremes[random.Next(extremes.Length)];
                    BitConverter.TryWriteBytes(copy.AsSpan(at, 4), value);
                    return (copy, $"u32 {value:x} at {at}");
                }

            case 5:
                {
                    var garbage = new byte[random.Next(256)];
                    random.NextBytes(garbage);
                    return (garbage, $"{garbage.Length} random bytes");
                }

            default:
                return MutateJson(random, original);
        }
    }

    private static (byte[] Bytes, string What) MutateJson(Random random, byte[] original)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(original);
        }
        catch (System.Text.Json.JsonException)
        {
            return (original, "unchanged (not JSON)");
        }

        var leaves = new List<(JsonNode Parent, object Key)>();
        Collect(root, leaves);
        if (leaves.Count == 0)
        {
            return (original, "unchanged (no fields)");
        }

        var (parent, key) = leaves[random.Next(leaves.Count)];
        var value = HostileValues[random.Next(HostileValues.Length)]?.DeepClone();
        if (parent is JsonObject o)
        {
            if (random.Next(5) == 0)
            {
                o.Remove((string)key);
            }
            else
            {
                o[(string)key] = value;
            }
        }
        else
        {
            ((JsonArray)parent)[(int)key] = value;
        }

        return (Encoding.UTF8.GetBytes(root!.ToJsonString()), $"JSON field {key} set to {value?.ToJsonString() ?? "null"}");
    }

    private static void Collect(JsonNode? node, List<(JsonNode, object)> leaves)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o.ToList())
                {
                    leaves.Add((o, k));
                    Collect(v, leaves);
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    leaves.Add((a, i));
                    Collect(a[i], leaves);
                }

                break;
            default:
                break;
        }
    }
}
