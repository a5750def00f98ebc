using System.Text.Json;
using System.Text.Json.Serialization;
using Coffer.Abstractions;
using Coffer.Engine.Core;

namespace Coffer.Engine.Repository.Packs;

/// <summary>
/// The packs maintenance has marked for deletion, each with when it was marked: the index object named
/// <c>trash</c>, sealed JSON <c>{"packs":{"&lt;pack&gt;":"&lt;time&gt;"}}</c>. Only maintenance writes it.
/// </summary>
internal sealed record Trash
{
    public const string ObjectName = "trash";
    private const string Context = "coffer trash v1";

    public Dictionary<string, DateTimeOffset> Packs { get; init; } = new(StringComparer.Ordinal);

    public static async Task<Trash> ReadAsync(CofferStore store, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await store.ReadObjectAsync(StorageObjectClass.Index, ObjectName, cancellationToken).ConfigureAwait(false);
        }
        catch (NotFoundException)
        {
            return new Trash();
        }

        try
        {
            var trash = JsonSerializer.Deserialize(store.Keys.OpenObject(bytes, Context), TrashJsonContext.Default.Trash) ?? new Trash();
            return new Trash { Packs = new Dictionary<string, DateTimeOffset>(trash.Packs, StringComparer.Ordinal) };
        }
        catch (Exception e) when (e is JsonException or System.Security.Cryptography.CryptographicException)
        {
            throw new StoreFormatException("the store's trash list is damaged: run 'coffer check'", e);
        }
    }

    public async Task WriteAsync(CofferStore store, CancellationToken cancellationToken)
    {
        if (Packs.Count == 0)
        {
            await store.DeleteObjectAsync(StorageObjectClass.Index, ObjectName, cancellationToken).ConfigureAwait(false);
            return;
        }

        var bytes = store.Keys.SealObject(JsonSerializer.SerializeToUtf8Bytes(this, TrashJsonContext.Default.Trash), Context);
        await store.PutObjectAsync(StorageObjectClass.Index, ObjectName, new MemoryStream(bytes, writable: false), cancellationToken).ConfigureAwait(false);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Trash))]
internal sealed partial class TrashJsonContext : JsonSerializerContext;
