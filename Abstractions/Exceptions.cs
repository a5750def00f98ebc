namespace Coffer.Abstractions;

/// <summary>The base of every error a connector reports on purpose. Its message is one line fit for a user.</summary>
public class ConnectorException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConnectorException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">One line: what, where, what to do. Never a secret.</param>
    public ConnectorException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">One line: what, where, what to do. Never a secret.</param>
    /// <param name="innerException">The cause.</param>
    public ConnectorException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A location or option is wrong: unknown, missing, malformed or contradictory.</summary>
public class ConnectorConfigurationException : ConnectorException
{
    /// <summary>Creates the exception.</summary>
    public ConnectorConfigurationException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">One line naming the option and what to do.</param>
    public ConnectorConfigurationException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">One line naming the option and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public ConnectorConfigurationException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The backend refused the credentials.</summary>
public class ConnectorAuthenticationException : ConnectorException
{
    /// <summary>Creates the exception.</summary>
    public ConnectorAuthenticationException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">One line, without the credentials.</param>
    public ConnectorAuthenticationException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">One line, without the credentials.</param>
    /// <param name="innerException">The cause.</param>
    public ConnectorAuthenticationException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A block, object or entry does not exist.</summary>
public class NotFoundException : ConnectorException
{
    /// <summary>Creates the exception.</summary>
    public NotFoundException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">One line naming what is missing.</param>
    public NotFoundException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">One line naming what is missing.</param>
    /// <param name="innerException">The cause.</param>
    public NotFoundException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A write was attempted on a connector or volume opened read-only.</summary>
public class ReadOnlyException : ConnectorException
{
    /// <summary>Creates the exception.</summary>
    public ReadOnlyException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">One line naming the read-only target.</param>
    public ReadOnlyException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">One line naming the read-only target.</param>
    /// <param name="innerException">The cause.</param>
    public ReadOnlyException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The backend has no room for the write.</summary>
public class StorageFullException : ConnectorException
{
    /// <summary>Creates the exception.</summary>
    public StorageFullException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">One line naming the full target.</param>
    public StorageFullException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">One line naming the full target.</param>
    /// <param name="innerException">The cause.</param>
    public StorageFullException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary><see cref="IStorageConnector.CreateAsync"/> found a store already there.</summary>
public class StoreAlreadyExistsException : ConnectorException
{
    /// <summary>Creates the exception.</summary>
    public StoreAlreadyExistsException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">One line naming the location.</param>
    public StoreAlreadyExistsException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">One line naming the location.</param>
    /// <param name="innerException">The cause.</param>
    public StoreAlreadyExistsException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A path would lead outside a connector's root (<c>..</c>, absolute, or through a link).</summary>
public class PathEscapesRootException : ConnectorException
{
    /// <summary>Creates the exception.</summary>
    public PathEscapesRootException() { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">One line naming the path.</param>
    public PathEscapesRootException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">One line naming the path.</param>
    /// <param name="innerException">The cause.</param>
    public PathEscapesRootException(string message, Exception? innerException) : base(message, innerException) { }
}
