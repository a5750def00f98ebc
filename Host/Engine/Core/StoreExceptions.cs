namespace Coffer.Engine.Core;

/// <summary>The base of the engine's deliberate errors; the message is one line fit for a user.</summary>
internal class StoreException : Exception
{
    public StoreException(string message) : base(message) { }

    public StoreException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The passphrase does not unwrap the store's master key.</summary>
internal sealed class WrongPassphraseException : StoreException
{
    public WrongPassphraseException() : base("wrong passphrase: the store's key cannot be unlocked with it") { }

    public WrongPassphraseException(string message) : base(message) { }
}

/// <summary>An object of the store is malformed, of an unknown version, or fails authentication.</summary>
internal sealed class StoreFormatException : StoreException
{
    public StoreFormatException(string message) : base(message) { }

    public StoreFormatException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A snapshot reference matches nothing, or more than one snapshot.</summary>
internal sealed class SnapshotNotFoundException : StoreException
{
    public SnapshotNotFoundException(string message) : base(message) { }
}
