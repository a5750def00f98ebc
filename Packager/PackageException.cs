namespace Coffer.Packager;

/// <summary>
/// A package was refused or a package operation could not be done. The message is one line fit for a
/// user: what is wrong, where, and what to do. Nothing in the install directory has changed when it is thrown.
/// </summary>
public class PackageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PackageException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">One line: what, where, what to do.</param>
    public PackageException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">One line: what, where, what to do.</param>
    /// <param name="innerException">The cause.</param>
    public PackageException(string message, Exception? innerException) : base(message, innerException) { }
}
