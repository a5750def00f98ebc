using System.CommandLine;
using Coffer.Engine.Core.Model;

namespace Coffer.Cli;

/// <summary>
/// <c>--tag</c>, <c>--host</c> and <c>--source</c>: which snapshots a command works on (restic's filters;
/// <c>--path</c> is an alias of <c>--source</c> where the command has no <c>--path</c> of its own).
/// </summary>
internal sealed class SnapshotFilterOptions
{
    private readonly Option<string[]> _tags = new("--tag", "-tag") { Description = "Only snapshots with these tags (a,b: both; repeat for either).", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string[]> _hosts = new("--host", "-host") { Description = "Only snapshots taken on this host (repeatable).", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string[]> _sources;

    private SnapshotFilterOptions(bool pathAlias)
    {
        _sources = pathAlias
            ? new("--source", "-source", "--path", "-path") { Description = "Only snapshots of this source (a path, location or @name[:sub], as ls shows it; repeatable).", AllowMultipleArgumentsPerToken = false }
            : new("--source", "-source") { Description = "Only snapshots of this source (a path, location or @name[:sub], as ls shows it; repeatable).", AllowMultipleArgumentsPerToken = false };
    }

    /// <summary>Adds the three options to <paramref name="command"/>; <paramref name="pathAlias"/> also names <c>--source</c> <c>--path</c>, as restic does.</summary>
    public static SnapshotFilterOptions AddTo(Command command, bool pathAlias = true)
    {
        var options = new SnapshotFilterOptions(pathAlias);
        command.Options.Add(options._tags);
        command.Options.Add(options._hosts);
        command.Options.Add(options._sources);
        return options;
    }

    public SnapshotFilter Get(ParseResult parse) => new()
    {
        TagSets = (parse.GetValue(_tags) ?? []).Select(value => (IReadOnlyList<string>)value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Where(set => set.Count > 0).ToList(),
        Hosts = parse.GetValue(_hosts) ?? [],
        Sources = (parse.GetValue(_sources) ?? []).Select(StoreReferences.SourceName).ToList(),
    };
}
