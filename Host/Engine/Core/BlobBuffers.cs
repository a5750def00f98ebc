using System.Buffers;

namespace Coffer.Engine.Core;

/// <summary>
/// The pool every chunk, blob, window and pack segment buffer of the engine comes from and goes back to.
/// Not <see cref="ArrayPool{T}.Shared"/>: that one also keeps one array of each size per thread, and a
/// pipeline whose awaits hop across many pool threads left a multi-MiB buffer of each size behind on each
/// of them. This pool keeps a few arrays per size, shared by all threads, so what it holds is bounded by
/// what was in flight at once (measurements: docs/decisions.md).
/// </summary>
internal static class BlobBuffers
{
    // The largest pooled buffer is a chunker window rented for a lone stream (a backup's readers keep their
    // own); anything larger is allocated and dropped. Sixteen per size covers the pipeline's in-flight limits
    // (a 16 MiB pack is 16 segments): fewer measured worse, since every array a full size drops is LOH
    // garbage the workstation GC collects late.
    private const int LargestPooled = 16 << 20;
    private const int PerSize = 16;

    public static ArrayPool<byte> Pool { get; } = ArrayPool<byte>.Create(LargestPooled, PerSize);
}
