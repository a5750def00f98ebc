using System.CommandLine;
using System.Globalization;
using Coffer.Abstractions;
using Coffer.Engine.Core.Model;
using Coffer.Engine.Operations.Backup;
using Coffer.Plumbing;

namespace Coffer.Cli;

/// <summary>
/// restic's backup selection flags: what to leave out (<c>--exclude*</c>), what to take (<c>--files-from*</c>,
/// <c>--stdin</c>), what to record (<c>--host</c>, <c>--time</c>) and <c>--dry-run</c>. Lists are read here;
/// the engine's <see cref="ExcludeMatcher"/> applies them. docs/backup.md describes each flag.
/// </summary>
internal sealed class BackupSelectionOptions
{
    /// <summary>restic's <c>--time</c> format, read in the local time zone as restic does.</summary>
    private const string TimeFormat = "yyyy-MM-dd HH:mm:ss";

    private readonly Option<string[]> _excludes = Repeatable("--exclude", "GLOB", "Leave out paths matching a glob (repeatable; * ? **).");
    private readonly Option<string[]> _excludeFiles = Repeatable("--exclude-file", "FILE", "Read --exclude globs from FILE, one a line; # comments and blank lines are skipped (repeatable).");
    private readonly Option<string[]> _iexcludes = Repeatable("--iexclude", "GLOB", "Like --exclude, ignoring case (repeatable).");
    private readonly Option<string[]> _iexcludeFiles = Repeatable("--iexclude-file", "FILE", "Like --exclude-file, ignoring case (repeatable).");
    private readonly Option<string[]> _excludeIfPresent = Repeatable("--exclude-if-present", "NAME[:HEADER]", "Leave out the content of a directory holding a file NAME (whose content starts with HEADER if given: NAME[:HEADER]; repeatable).");
    private readonly Option<bool> _excludeCaches = new("--exclude-caches", "-exclude-caches") { Description = "Leave out the content of directories holding a CACHEDIR.TAG with the standard signature." };
    private readonly Option<string?> _excludeLargerThan = new("--exclude-larger-than", "-exclude-larger-than") { HelpName = "SIZE", Description = "Leave out files larger than SIZE (bytes, or 10K, 10M, 1G, 1T: powers of 1024)." };
    private readonly Option<string[]> _filesFrom = Repeatable("--files-from", "FILE", "Back up only the paths listed in FILE, one a line (# comments; * ? ** globs), below SOURCE (repeatable).");
    private readonly Option<string[]> _filesFromVerbatim = Repeatable("--files-from-verbatim", "FILE", "Like --files-from, every non-empty line a path as written (no comments, no globs).");
    private readonly Option<string[]> _filesFromRaw = Repeatable("--files-from-raw", "FILE", "Like --files-from-verbatim, the paths each ended by a NUL byte (find -print0).");
    private readonly Option<bool> _stdin = new("--stdin", "-stdin") { Description = "Back up what is piped in as one file (no SOURCE)." };
    private readonly Option<string> _stdinFileName = new("--stdin-filename", "-stdin-filename") { HelpName = "NAME", Description = "The name of the --stdin file in the snapshot.", DefaultValueFactory = _ => "stdin" };
    private readonly Option<string?> _host = new("--host", "-host") { HelpName = "NAME", Description = "Record this host name instead of the machine's (the parent is the latest snapshot of the same source and host)." };
    private readonly Option<string?> _time = new("--time", "-time") { HelpName = "TIME", Description = $"Record this time instead of now: \"{TimeFormat}\", local time." };
    private readonly Option<bool> _oneFileSystem = new("--one-file-system", "-one-file-system", "-x") { Description = "Do not cross into other file systems: a mount point below SOURCE is kept as an empty directory (directory sources)." };
    private readonly Option<bool> _dryRun = new("--dry-run", "-dry-run", "-n") { Description = "Show what would be read and roughly how much would be added; store nothing and take no lock." };

    private BackupSelectionOptions()
    {
    }

    public static BackupSelectionOptions AddTo(Command command)
    {
        var options = new BackupSelectionOptions();
        foreach (var option in new Option[] { options._excludes, options._excludeFiles, options._iexcludes, options._iexcludeFiles, options._excludeIfPresent, options._excludeCaches, options._excludeLargerThan, options._filesFrom, options._filesFromVerbatim, options._filesFromRaw, options._stdin, options._stdinFileName, options._host, options._time, options._oneFileSystem, options._dryRun })
        {
            command.Options.Add(option);
        }

        return options;
    }

    public bool IsDryRun(ParseResult parse) => parse.GetValue(_dryRun);

    public bool IsStdin(ParseResult parse) => parse.GetValue(_stdin);

    /// <summary>The source's configuration, with the posix source's <c>one_file_system</c> option under <c>--one-file-system</c>; a source that cannot tell file systems apart is refused.</summary>
    public ConnectorConfiguration SourceConfiguration(ParseResult parse, ConnectorConfiguration configuration, Func<string, ConnectorDescriptor?> describe)
    {
        if (!parse.GetValue(_oneFileSystem))
        {
            return configuration;
        }

        if (describe(configuration.Scheme) is not { } descriptor || !descriptor.Options.Any(o => o.Name == OneFileSystemOption))
        {
            throw new CliFailure($"--one-file-system: the {configuration.Scheme} source cannot tell file systems apart: it works with directory sources (leave the mount points out with --exclude instead)");
        }

        var options = new Dictionary<string, string>(configuration.Options, StringComparer.Ordinal) { [OneFileSystemOption] = "true" };
        return new ConnectorConfiguration(configuration.Location, options, configuration.Context);
    }

    // The posix directory source's option (Plugins.Posix DirectorySourceFactory).
    private const string OneFileSystemOption = "one_file_system";

    public string StdinFileName(ParseResult parse) => parse.GetValue(_stdinFileName)!;

    public string HostName(ParseResult parse) => parse.GetValue(_host) ?? Environment.MachineName;

    /// <summary>Checks the flags together and reads every list, before the store is opened: bad input changes nothing.</summary>
    /// <param name="parse">The command line.</param>
    /// <param name="name">The source's name as the snapshot records it.</param>
    /// <param name="tags">The snapshot's tags.</param>
    /// <param name="sourceGiven">Whether a SOURCE was typed.</param>
    /// <param name="timeZone">The zone a <c>--time</c> is read in.</param>
    public BackupRequest Request(ParseResult parse, string name, IReadOnlyList<string> tags, bool sourceGiven, TimeZoneInfo timeZone)
    {
        var filesFrom = parse.GetValue(_filesFrom) ?? [];
        var verbatim = parse.GetValue(_filesFromVerbatim) ?? [];
        var raw = parse.GetValue(_filesFromRaw) ?? [];
        var listsPaths = filesFrom.Length + verbatim.Length + raw.Length > 0;
        if (IsStdin(parse))
        {
            if (sourceGiven || listsPaths || parse.GetValue(_oneFileSystem))
            {
                throw new CliFailure("--stdin backs up what is piped in: give no SOURCE, no --files-from and no --one-file-system");
            }

            if (!Node.IsSafeName(StdinFileName(parse)))
            {
                throw new CliFailure($"--stdin-filename {Node.Quote(StdinFileName(parse))} is not a plain file name: give a name without '/'");
            }
        }

        var tagFiles = (parse.GetValue(_excludeIfPresent) ?? []).Select(TagFile.Parse).ToList();
        if (tagFiles.Find(t => !Node.IsSafeName(t.Name)) is { } badTag)
        {
            throw new CliFailure($"--exclude-if-present {Node.Quote(badTag.Name)} is not a plain file name: give NAME[:HEADER]");
        }

        if (parse.GetValue(_excludeCaches))
        {
            tagFiles.Add(TagFile.Caches);
        }

        long? largerThan = null;
        if (parse.GetValue(_excludeLargerThan) is { } sizeText)
        {
            largerThan = ByteSize.TryParse(sizeText, out var size) ? size : throw new CliFailure($"--exclude-larger-than {sizeText}: not a size; give bytes or a number with K, M, G or T (e.g. 10M)");
        }

        DateTimeOffset? time = null;
        if (parse.GetValue(_time) is { } timeText)
        {
            time = DateTime.TryParseExact(timeText, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
                ? new DateTimeOffset(local, timeZone.GetUtcOffset(local)).ToUniversalTime()
                : throw new CliFailure($"--time {timeText}: not a time; give \"{TimeFormat}\" (local time)");
        }

        return new BackupRequest(name, tags, [.. parse.GetValue(_excludes) ?? [], .. PatternFiles(parse.GetValue(_excludeFiles) ?? [], "--exclude-file")])
        {
            CaseInsensitiveExcludes = [.. parse.GetValue(_iexcludes) ?? [], .. PatternFiles(parse.GetValue(_iexcludeFiles) ?? [], "--iexclude-file")],
            ExcludeIfPresent = tagFiles,
            ExcludeLargerThan = IsStdin(parse) ? null : largerThan,
            Includes = listsPaths ? Includes(name, filesFrom, verbatim, raw) : null,
            Time = time,
            DryRun = IsDryRun(parse),
        };
    }

    private static Option<string[]> Repeatable(string name, string valueName, string description) =>
        new(name, name[1..]) { Description = description, HelpName = valueName, AllowMultipleArgumentsPerToken = false };

    /// <summary>restic's pattern files: one glob a line, surrounding blanks trimmed, blank lines and <c>#</c> comments skipped.</summary>
    private static IEnumerable<string> PatternFiles(IEnumerable<string> files, string flag) =>
        files.SelectMany(file => Lines(file, flag)).Select(line => line.Trim()).Where(line => line.Length > 0 && line[0] != '#');

    /// <summary>The <c>--files-from*</c> lists as paths or globs relative to the source's root; each literal path must exist below it.</summary>
    private static List<IncludedPath>? Includes(string source, string[] filesFrom, string[] verbatim, string[] raw)
    {
        if (ConnectorConfiguration.ParseLocation(source).Scheme != ConnectorConfiguration.FileSystemScheme || !Path.IsPathRooted(source))
        {
            throw new CliFailure($"--files-from lists paths of a local directory: give one as SOURCE, not {source}");
        }

        var entries = filesFrom.SelectMany(file => PatternFiles([file], "--files-from").Select(line => ($"--files-from {file}", line, IsGlob: line.Contains('*') || line.Contains('?'))))
            .Concat(verbatim.SelectMany(file => Lines(file, "--files-from-verbatim").Where(line => line.Length > 0).Select(line => ($"--files-from-verbatim {file}", line, IsGlob: false))))
            .Concat(raw.SelectMany(file => RawNames(file).Select(line => ($"--files-from-raw {file}", line, IsGlob: false))));
        var includes = new List<IncludedPath>();
        foreach (var (list, entry, isGlob) in entries)
        {
            // Relative to where the user is, as restic reads them; the snapshot holds them relative to SOURCE.
            var full = Path.GetFullPath(entry);
            var relative = Path.GetRelativePath(source, full);
            if (relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative))
            {
                throw new CliFailure($"{list}: {Node.Quote(entry)} is outside the source {source}: list paths below it, or back up a directory that holds them");
            }

            if (!isGlob && !Path.Exists(full) && new FileInfo(full).LinkTarget is null)
            {
                throw new CliFailure($"{list}: {Node.Quote(entry)} does not exist: fix the list");
            }

            if (relative == ".")
            {
                return null; // the whole source is listed
            }

            includes.Add(new IncludedPath(relative, isGlob));
        }

        return includes;
    }

    private static string[] Lines(string file, string flag) =>
        ReadAll(file, flag).Split('\n').Select(line => line.TrimEnd('\r')).ToArray();

    /// <summary>restic's <c>--files-from-raw</c>: every name ends with a NUL; an empty name is an error.</summary>
    private static string[] RawNames(string file)
    {
        var text = ReadAll(file, "--files-from-raw");
        if (text.Length == 0)
        {
            return [];
        }

        if (!text.EndsWith('\0'))
        {
            throw new CliFailure($"--files-from-raw {file}: the last name is not ended by a NUL byte: write the list with find -print0");
        }

        var names = text[..^1].Split('\0');
        return names.Contains("") ? throw new CliFailure($"--files-from-raw {file}: an empty name in the list: fix the list") : names;
    }

    private static string ReadAll(string file, string flag)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliFailure($"cannot read {flag} {file}: {e.Message.Split('\n', 2)[0]}: give a readable file", e);
        }
    }
}
