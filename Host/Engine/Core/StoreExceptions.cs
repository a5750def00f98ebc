using Coffer.Engine.Core.Model;
using Coffer.Engine.Core.Chunking;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Crypto;
using Coffer.Engine.Repository.Packs;
using Coffer.Engine.Repository.Locks;
using Coffer.Engine.Repository.Portable;
using Coffer.Engine.Operations.Backup;
using Coffer.Engine.Operations.Restore;
using Coffer.Engine.Operations.Check;
using Coffer.Engine.Operations.Diff;
using Coffer.Engine.Operations.Retention;
using Coffer.Engine.Operations.Maintenance;

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
