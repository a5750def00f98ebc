using Coffer.Abstractions;
using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Repository;
using Coffer.Engine.Repository.Crypto;
using Coffer.Engine.Repository.Packs;
using Coffer.Engine.Repository.Portable;

namespace Coffer.Engine.Operations.Export;

/// <summary>What an export wrote.</summary>
/// <param name="Packs">How many packs the portable store holds.</param>
/// <param name="Bytes">The size of the portable store file.</param>
internal sealed record ExportResult(int Packs, long Bytes);

/// <summary>
/// Exports one snapshot into a single-file portable store: the store's CONFIG and keys, every pack holding a blob
/// the snapshot needs, one index object listing only those packs, and the snapshot object.
/// </summary>
internal sealed class SnapshotExport
{
    private readonly CofferStore _store;

    /// <param name="store">The store, locked for reading, its index loaded.</param>
    public SnapshotExport(CofferStore store) => _store = store;

    /// <summary>Writes <paramref name="snapshot"/> and what it needs to <paramref name="file"/>.</summary>
    /// <exception cref="StoreException">A blob or pack the snapshot needs is missing.</exception>
    public async Task<ExportResult> RunAsync(Snapshot snapshot, string file, CancellationToken cancellationToken)
    {
        var packs = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var (_, node) in _store.WalkAsync(snapshot.Root, "", cancellationToken).ConfigureAwait(false))
        {
            foreach (var id in (node.Content ?? []).Append(node.Subtree).OfType<string>())
            {
                packs.Add(_store.Index.TryGet(BlobId.Parse(id), out var at) ? at.Pack : throw new StoreException($"snapshot {snapshot.ShortId} needs blob {id}, which is missing: run 'coffer check'"));
            }
        }

        var sizes = await _store.ListPacksAsync(cancellationToken).ConfigureAwait(false);
        var ordered = packs.Order(StringComparer.Ordinal).ToList();
        var index = StoreIndex.Encode(_store.Keys, ordered.Select(p => (p, _store.Index.PackEntries[p])).ToList());
        var snapshotBytes = await _store.ReadObjectAsync(StorageObjectClass.Snapshot, snapshot.Id, cancellationToken).ConfigureAwait(false);
        var objects = new List<(StorageObjectClass, string, long, Func<CancellationToken, Task<Stream>>)>();
        foreach (var pack in ordered)
        {
            var size = sizes.TryGetValue(pack, out var s) ? s : throw new StoreException($"pack {pack} is missing: run 'coffer check'");
            objects.Add((StorageObjectClass.Packfile, pack, size, c => _store.OpenPackAsync(pack, c)));
        }

        objects.Add((StorageObjectClass.Index, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(index)), index.Length, _ => Task.FromResult<Stream>(new MemoryStream(index))));
        objects.Add((StorageObjectClass.Snapshot, snapshot.Id, snapshotBytes.Length, _ => Task.FromResult<Stream>(new MemoryStream(snapshotBytes))));

        // Every key goes along, so each passphrase that opens the store opens the portable store.
        foreach (var (name, bytes) in await StoreKeyring.ReadStoredAsync(_store, cancellationToken).ConfigureAwait(false))
        {
            objects.Add((StorageObjectClass.Key, name, bytes.Length, _ => Task.FromResult<Stream>(new MemoryStream(bytes))));
        }

        var config = await _store.ReadConfigBytesAsync(cancellationToken).ConfigureAwait(false);
        await PortableStore.WriteAsync(file, config, objects, cancellationToken).ConfigureAwait(false);
        return new ExportResult(packs.Count, new FileInfo(file).Length);
    }
}
