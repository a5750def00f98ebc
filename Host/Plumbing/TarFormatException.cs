namespace Coffer.Plumbing;

/// <summary>What is wrong with a tar archive, for callers that word it in their own terms.</summary>
public enum TarProblem
{
    /// <summary>The archive ends before its first header: empty, or not an archive.</summary>
    NotAnArchive,

    /// <summary>The first header is the end-of-archive marker.</summary>
    EmptyArchive,

    /// <summary>The first header is not a ustar header (wrong magic or checksum).</summary>
    NotUstar,

    /// <summary>The archive ends inside a header or an entry's data.</summary>
    Truncated,

    /// <summary>A later header, a size field or a name is damaged; the message says which.</summary>
    Corrupt,

    /// <summary>An entry is neither a regular file nor a directory (a link, device, FIFO or unknown type).</summary>
    NotRegular,

    /// <summary>An entry is a pax or GNU extension record, which the ustar reader does not read.</summary>
    Extension,

    /// <summary>Content written for an entry had another size than its header says.</summary>
    SizeMismatch,
}

/// <summary>
/// A tar archive the ustar reader refuses, or an entry the writer could not write as declared. The
/// message is plain and names no archive; <see cref="Problem"/> and <see cref="Entry"/> let the caller
/// say it its own way.
/// </summary>
public sealed class TarFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="problem">What is wrong.</param>
    /// <param name="entry">The entry concerned, if any; <see cref="Entry"/>.</param>
    /// <param name="message">What is wrong in words, e.g. "bad tar header at byte 1024" or "is a link".</param>
    public TarFormatException(TarProblem problem, string? entry, string message)
        : base(message)
    {
        Problem = problem;
        Entry = entry;
    }

    /// <summary>What is wrong.</summary>
    public TarProblem Problem { get; }

    /// <summary>The raw name of the entry concerned (for <see cref="TarProblem.Truncated"/> the last one read, null before the first).</summary>
    public string? Entry { get; }
}
