namespace Coffer.Keep;

/// <summary>
/// A keepstore configuration that cannot be served: a bad flag or key, an unreadable secret file, an address that
/// cannot be listened on. The message is the whole line for the operator (what, where, what to do); it never holds
/// a secret.
/// </summary>
internal sealed class KeepConfigurationException : Exception
{
    public KeepConfigurationException(string message) : base(message)
    {
    }

    public KeepConfigurationException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
