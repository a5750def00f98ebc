using System.Collections.Concurrent;

namespace Coffer.TestSupport;

/// <summary>
/// Everything the test processes wrote (coffer's stdout and stderr, keepstore logs) and the secrets the tests
/// use, so a teardown can prove no secret reached any output.
/// </summary>
public static class SecretLeaks
{
    private static readonly ConcurrentQueue<(string Source, string Text)> Captured = new();
    private static readonly ConcurrentDictionary<string, string> Secrets = new(StringComparer.Ordinal);

    /// <summary>How many outputs have been captured so far.</summary>
    public static int CapturedCount => Captured.Count;

    /// <summary>Registers a secret under a name for the leak report (never the secret itself).</summary>
    public static void Register(string name, string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        Secrets[secret] = name;
    }

    /// <summary>Records what a process wrote.</summary>
    public static void Record(string source, string text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            Captured.Enqueue((source, text));
        }
    }

    /// <summary>Every captured output that holds a registered secret: the secret's name and where it was seen.</summary>
    public static IReadOnlyList<string> Find()
    {
        var leaks = new List<string>();
        foreach (var (source, text) in Captured)
        {
            foreach (var (secret, name) in Secrets)
            {
                if (text.Contains(secret, StringComparison.Ordinal))
                {
                    leaks.Add($"{name} in the output of {source}");
                }
            }
        }

        return leaks;
    }
}
