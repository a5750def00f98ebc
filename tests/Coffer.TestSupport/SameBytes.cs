using NUnit.Framework.Constraints;

namespace Coffer.TestSupport;

/// <summary>
/// Byte-for-byte equality of two arrays in one vectorised comparison. <c>Is.EqualTo</c> on arrays goes element by
/// element through NUnit's general comparer, boxing each byte: slow for the MiB-sized file and block contents the
/// tests compare, often in loops.
/// </summary>
public static class SameBytes
{
    /// <summary>What <c>Is.EqualTo(<paramref name="expected"/>)</c> asserts (same length, same bytes), compared as spans.</summary>
    public static Constraint As(byte[] expected) =>
        new EqualConstraint(expected).Using<byte[]>((left, right) => left.AsSpan().SequenceEqual(right));
}
