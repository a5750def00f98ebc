using System.Runtime.InteropServices;
using System.Runtime.InteropServices.Marshalling;
using Coffer.Plumbing;

namespace Coffer.Plugins.Posix.Internal;

/// <summary>
/// Passes a path to libc as the bytes <see cref="RawName"/> gives for it, so a name read by raw bytes (with
/// escaped bytes as lone surrogates) reaches the system unchanged. For plain text it is UTF-8, as before.
/// </summary>
[CustomMarshaller(typeof(string), MarshalMode.ManagedToUnmanagedIn, typeof(RawPathMarshaller))]
internal static unsafe class RawPathMarshaller
{
    public static byte* ConvertToUnmanaged(string? managed)
    {
        if (managed is null)
        {
            return null;
        }

        var bytes = RawName.Encode(managed);
        var unmanaged = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
        bytes.CopyTo(new Span<byte>(unmanaged, bytes.Length));
        unmanaged[bytes.Length] = 0;
        return unmanaged;
    }

    public static void Free(byte* unmanaged) => NativeMemory.Free(unmanaged);
}
