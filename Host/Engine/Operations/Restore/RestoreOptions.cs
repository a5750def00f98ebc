using Coffer.Engine.Core;
using Coffer.Engine.Operations.Backup;

namespace Coffer.Engine.Operations.Restore;

/// <summary>When a restore replaces what is already at a path (docs/decisions.md, "Restore options").</summary>
internal enum OverwritePolicy
{
    /// <summary>Rewrite every file.</summary>
    Always,

    /// <summary>Leave a file alone when it has the snapshot's size and mtime (a link: its target).</summary>
    IfChanged,

    /// <summary>Replace only what is older than the snapshot's entry.</summary>
    IfNewer,

    /// <summary>Write only where nothing is.</summary>
    Never,
}

/// <summary>What <c>coffer restore</c> was asked to do beyond writing the snapshot out.</summary>
internal sealed record RestoreOptions
{
    /// <summary>Globs of what to restore (with what is below a matching directory); everything when empty.</summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    /// <summary>Globs of what to leave out (with what is below a matching directory).</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>Null: <see cref="OverwritePolicy.IfChanged"/> where the destination can be read back, else <see cref="OverwritePolicy.Always"/>.</summary>
    public OverwritePolicy? Overwrite { get; init; }

    /// <summary>Remove what the snapshot (as selected) lacks from the target.</summary>
    public bool Delete { get; init; }

    /// <summary>Read every restored file back and compare it with the snapshot's SHA-256.</summary>
    public bool Verify { get; init; }

    /// <summary>Owners by number only: the names recorded in the snapshot are not looked up.</summary>
    public bool NumericOwner { get; init; }

    /// <summary>Report what would be written and deleted; change nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>The words of <c>--overwrite</c>.</summary>
    public static readonly IReadOnlyList<string> OverwriteWords = ["always", "if-changed", "if-newer", "never"];

    public static bool TryParseOverwrite(string text, out OverwritePolicy policy)
    {
        var index = OverwriteWords.ToList().IndexOf(text);
        policy = index < 0 ? default : (OverwritePolicy)index;
        return index >= 0;
    }

    /// <summary>Include and exclude as one test of a target-relative path (a directory takes what is below it along).</summary>
    internal sealed class Selection(RestoreOptions options)
    {
        private readonly ExcludeMatcher _include = new(options.Include);
        private readonly ExcludeMatcher _exclude = new(options.Exclude);
        private readonly bool _includeAll = options.Include.Count == 0;
        private readonly bool _noExcludes = options.Exclude.Count == 0;

        /// <summary>Whether the entry at <paramref name="path"/> is restored: not excluded, and included (itself or a parent).</summary>
        public bool Selects(string path)
        {
            if (path.Length == 0 || (_includeAll && _noExcludes))
            {
                return true;
            }

            var included = _includeAll;
            for (var slash = path.IndexOf('/', StringComparison.Ordinal); ; slash = path.IndexOf('/', slash + 1))
            {
                var prefix = slash < 0 ? path : path[..slash];
                if (_exclude.Matches(prefix))
                {
                    return false;
                }

                included = included || _include.Matches(prefix);
                if (slash < 0)
                {
                    return included;
                }
            }
        }
    }
}

/// <summary>What a restore did.</summary>
internal sealed record RestoreResult(long Files, long Bytes, long Unchanged, long Deleted);

/// <summary>A restored file does not read back as the snapshot has it (<c>restore --verify</c>).</summary>
internal sealed class RestoreVerificationException(string message) : StoreException(message);

/// <summary>The destination cannot do what the restore options ask.</summary>
internal sealed class RestoreOptionException(string message) : StoreException(message);
