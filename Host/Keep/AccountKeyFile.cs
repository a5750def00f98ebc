using System.Text;

namespace Coffer.Keep;

/// <summary>
/// Checks an Azure account key file as keepstore's documentation describes it: the key and at most a
/// trailing newline, kept private. The key itself never appears in a message.
/// </summary>
internal static class AccountKeyFile
{
    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Reads and checks the key file.</summary>
    /// <param name="path">The file as given on the command line.</param>
    /// <param name="warn">Receives one line when the file is open to group or others.</param>
    /// <returns>The key.</returns>
    /// <exception cref="KeepConfigurationException">The file is unreadable, empty, or holds more than the key.</exception>
    public static string Read(string path, Action<string> warn)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeepConfigurationException($"cannot read the account key file {path}: {e.Message}", e);
        }

        var key = Encoding.UTF8.GetString(content);
        if (key.EndsWith('\n'))
        {
            key = key[..^1];
            if (key.EndsWith('\r'))
            {
                key = key[..^1];
            }
        }

        if (key.Length == 0)
        {
            throw new KeepConfigurationException($"the account key file {path} is empty: put the storage account key in it");
        }

        if (key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new KeepConfigurationException($"the account key file {path} holds more than the key: only one trailing newline may follow it");
        }

        if (!Convert.TryFromBase64String(key, new byte[key.Length], out _))
        {
            throw new KeepConfigurationException($"the account key file {path} does not hold a base64 storage account key");
        }

        if ((File.GetUnixFileMode(path) & GroupOrOthers) != 0)
        {
            warn($"warning: the account key file {path} is open to group or others: chmod 600 {path}");
        }

        return key;
    }
}
