using Coffer.Plumbing;

namespace Coffer.Packager.Signing;

/// <summary>
/// The public keys this user trusts to sign packages and repository indexes: <c>trusted-keys</c> in the
/// configuration directory, one <c>ed25519:BASE64</c> key per line.
/// </summary>
/// <param name="paths">Where coffer keeps its files.</param>
public sealed class TrustedKeys(CofferPaths paths)
{
    /// <summary>The file name in the configuration directory.</summary>
    public const string FileName = "trusted-keys";

    private readonly string _path = Path.Combine((paths ?? throw new ArgumentNullException(nameof(paths))).ConfigDirectory, FileName);

    /// <summary>The trusted keys, in the order they were added.</summary>
    /// <returns>The keys.</returns>
    public IReadOnlyList<PublicSigningKey> List()
    {
        if (!File.Exists(_path))
        {
            return [];
        }

        var keys = new List<PublicSigningKey>();
        foreach (var line in File.ReadAllLines(_path))
        {
            if (PublicSigningKey.TryParse(line.Trim(), out var key))
            {
                keys.Add(key!);
            }
        }

        return keys;
    }

    /// <summary>Tells whether <paramref name="key"/> is trusted.</summary>
    /// <param name="key">The key.</param>
    /// <returns>True when it is in the list.</returns>
    public bool Contains(PublicSigningKey key) => List().Contains(key);

    /// <summary>Adds a key; adding a trusted key again changes nothing.</summary>
    /// <param name="key">The key.</param>
    /// <returns>False when it was already trusted.</returns>
    public bool Add(PublicSigningKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var keys = List();
        if (keys.Contains(key))
        {
            return false;
        }

        Save([.. keys, key]);
        return true;
    }

    /// <summary>Removes a key.</summary>
    /// <param name="key">The key.</param>
    /// <returns>False when it was not trusted.</returns>
    public bool Remove(PublicSigningKey key)
    {
        var keys = List();
        if (!keys.Contains(key))
        {
            return false;
        }

        Save(keys.Where(k => k != key).ToList());
        return true;
    }

    private void Save(IReadOnlyList<PublicSigningKey> keys)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        DurableFile.Write(_path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            foreach (var key in keys)
            {
                writer.Write(key.Text + "\n");
            }
        });
    }

    /// <summary>Reads a key given as <c>ed25519:BASE64</c> or as a file holding it (a <c>.pub</c> file <c>pkg key generate</c> writes).</summary>
    /// <param name="keyOrFile">What the user typed.</param>
    /// <returns>The key.</returns>
    /// <exception cref="PackageException">Neither a key nor a file holding one.</exception>
    public static PublicSigningKey Parse(string keyOrFile)
    {
        ArgumentNullException.ThrowIfNull(keyOrFile);
        if (PublicSigningKey.TryParse(keyOrFile.Trim(), out var key))
        {
            return key!;
        }

        if (File.Exists(keyOrFile) && new FileInfo(keyOrFile).Length < 4096 && PublicSigningKey.TryParse(File.ReadAllText(keyOrFile).Trim(), out key))
        {
            return key!;
        }

        throw new PackageException($"'{PackagePathText(keyOrFile)}' is not a public key: give it as ed25519:BASE64 (what 'coffer pkg key generate' prints) or a .pub file holding one");
    }

    private static string PackagePathText(string text) => text.Length > 80 ? text[..80] + "…" : text;
}
