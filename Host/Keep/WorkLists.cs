using System.Text.Json.Serialization;

namespace Coffer.Keep;

/// <summary>One entry of a <c>PUT /pull</c> list: fetch the block from one of the servers and store it here.</summary>
internal sealed record PullRequest(
    [property: JsonPropertyName("locator")] string Locator,
    [property: JsonPropertyName("servers")] IReadOnlyList<string>? Servers,
    [property: JsonPropertyName("mount_uuid")] string? MountUuid);

/// <summary>One entry of a <c>PUT /trash</c> list: trash the block if its mtime is still <see cref="BlockMtime"/> (ns).</summary>
internal sealed record TrashRequest(
    [property: JsonPropertyName("locator")] string Locator,
    [property: JsonPropertyName("block_mtime")] long BlockMtime,
    [property: JsonPropertyName("mount_uuid")] string? MountUuid);
