using System.CommandLine;
using System.Runtime.CompilerServices;
using Coffer.Connectors;
using Coffer.Packager;
using Coffer.Packager.Signing;
using Spectre.Console;

namespace Coffer.Cli;

/// <summary>
/// <c>coffer pkg build|add|list|remove|show</c>: packages and the install directory; the repository commands
/// are in <see cref="PkgRepositoryCommands"/>.
/// </summary>
internal static class PkgCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("pkg", "Build, install, list, show and remove plugin packages (.ptar).");
        command.Subcommands.Add(Build(context));
        command.Subcommands.Add(Add(context));
        command.Subcommands.Add(List(context));
        command.Subcommands.Add(Remove(context));
        command.Subcommands.Add(Show(context));
        foreach (var repositoryCommand in PkgRepositoryCommands.Create(context))
        {
            command.Subcommands.Add(repositoryCommand);
        }

        return command;
    }

    private static Command Build(CliContext context)
    {
        var project = new Argument<string>("PROJECT_DIR|NAME") { Description = "The plugin's project directory (or project file), or a bundled plugin's name (posix, azblob) in a checkout." };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the .ptar (default: the current directory).", DefaultValueFactory = _ => "." };
        var command = new Command("build", "Publish a plugin project and write its .ptar package.") { project, output };
        command.SetAction((parsed, cancellationToken) => Refusing(async () =>
        {
            // Progress only on a terminal: in a pipe the one line on stdout (the package's path) is all.
            var log = Console.IsErrorRedirected || !ReferenceEquals(context.Error, Console.Error) ? null : context.Error;
            var options = new PackageBuildOptions(DescribeConnectorsAsync) { OutputDirectory = parsed.GetValue(output)!, Log = log };
            var path = await PackageBuilder.BuildAsync(BundledProject(parsed.GetValue(project)!), options, cancellationToken);
            await context.Output.WriteLineAsync(path);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Add(CliContext context)
    {
        var target = new Argument<string>("NAME[@VERSION]|FILE") { Description = "A package name to install from the repositories, or a .ptar file." };
        var upgrade = new Option<bool>("--upgrade", "-u") { Description = "Replace an installed version of the package (upgrade or downgrade)." };
        var allowUnsigned = new Option<bool>("--allow-unsigned") { Description = "Install a package file that has no signature (FILE.sig) by a trusted key." };
        var command = new Command("add", "Install a package by name from the repositories, or verify and install a .ptar file.") { target, upgrade, allowUnsigned };
        command.SetAction((parsed, cancellationToken) => Refusing(async () =>
        {
            var what = parsed.GetValue(target)!;
            if (!what.EndsWith(PackageFileName.Extension, StringComparison.Ordinal) && !File.Exists(what))
            {
                await PkgRepositoryCommands.AddByNameAsync(context, what, parsed.GetValue(upgrade), cancellationToken);
                return ExitCodes.Success;
            }

            var signature = LocalSignature(context, what, parsed.GetValue(allowUnsigned));
            var result = await Installer(context).AddAsync(what, new PackageAddOptions
            {
                Upgrade = parsed.GetValue(upgrade),
                Signature = signature,
                Vouch = signature is null ? null : (manifest, json) =>
                {
                    if (!signature.Covers(json))
                    {
                        throw new PackageException($"{Path.GetFileName(what)} is refused: {Path.GetFileName(what)}{SignatureSuffix} does not verify (tampered package or signature)");
                    }
                },
            }, cancellationToken);
            await WriteInstalledAsync(context, result);
            if (signature is null)
            {
                // After the install, so a refusal stays one line.
                await context.Error.WriteLineAsync($"coffer: warning: {Path.GetFileName(what)} is unsigned; installed only because of --allow-unsigned");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The detached signature of a package file: <c>FILE.ptar.sig</c>, one line as an installed package records it.</summary>
    public const string SignatureSuffix = ".sig";

    // A local file is either signed (FILE.sig, by a trusted key) or explicitly allowed unsigned, with a warning.
    private static PackageSignature? LocalSignature(CliContext context, string file, bool allowUnsigned)
    {
        var sidecar = file + SignatureSuffix;
        if (!File.Exists(sidecar))
        {
            if (!allowUnsigned)
            {
                throw new CliFailure($"{Path.GetFileName(file)} is not signed (no {Path.GetFileName(sidecar)}): install it by name from a repository, or, if you trust where the file came from, add --allow-unsigned");
            }

            return null;
        }

        var signature = PackageSignature.FromLine(File.ReadAllText(sidecar))
            ?? throw new CliFailure($"{sidecar} is not a package signature: remove it, or get the right one from the package's publisher");
        if (!new TrustedKeys(context.Paths).Contains(signature.Key))
        {
            throw new CliFailure($"{Path.GetFileName(file)} is signed by {signature.Key.Text}, a key you do not trust: refused; if it is the publisher's key, run 'coffer pkg trust add {signature.Key.Text}'");
        }

        return signature;
    }

    /// <summary>The line <c>pkg add</c> prints for what it installed.</summary>
    public static Task WriteInstalledAsync(CliContext context, InstallResult result)
    {
        var m = result.Package.Manifest;
        var verb = result.Replaced is null ? "installed"
            : result.Replaced.Version == m.Version ? "reinstalled"
            : $"replaced {m.Name} {result.Replaced.Version} with";
        return context.Output.WriteLineAsync($"{verb} {m.Name} {m.Version}: {Schemes(m)}");
    }

    private static Command List(CliContext context)
    {
        var longFormat = new Option<bool>("--long", "-l") { Description = "Show descriptions, licenses, connectors and options." };
        var command = new Command("list", "List the installed packages (the global --json prints them as JSON).") { longFormat };
        command.SetAction(parsed =>
        {
            var errors = new List<string>();
            var packages = InstalledPackage.List(context.Paths.PluginsDirectory, (name, reason) => errors.Add($"package '{name}': {reason}"));
            if (context.IsJson)
            {
                context.Output.Write(System.Text.Encoding.UTF8.GetString(InstalledPackage.ToJson(packages)));
                context.Output.WriteLine();
            }
            else if (packages.Count == 0)
            {
                context.Output.WriteLine("no packages installed: add one with 'coffer pkg add NAME' (from a repository) or 'coffer pkg add FILE.ptar'");
            }
            else if (parsed.GetValue(longFormat))
            {
                foreach (var package in packages)
                {
                    WriteLong(context.Output, package.Manifest, package.Directory);
                    var signature = package.ReadSignature();
                    context.Output.WriteLine($"  signed by    {(signature is null ? "nobody (installed with --allow-unsigned)" : signature.Key.Text)}");
                }
            }
            else if (!Console.IsOutputRedirected && !ProgressDisplay.NoColor && ReferenceEquals(context.Output, Console.Out))
            {
                WriteTable(packages);
            }
            else
            {
                foreach (var package in packages)
                {
                    var m = package.Manifest;
                    context.Output.WriteLine($"{m.Name,-16} {m.Version,-12} {m.Os + "/" + m.Arch,-14} {Schemes(m)}");
                }
            }

            foreach (var error in errors)
            {
                context.Error.WriteLine($"coffer: {error}");
            }

            return errors.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    private static Command Remove(CliContext context)
    {
        var name = new Argument<string>("NAME") { Description = "The installed package's name." };
        var command = new Command("remove", "Remove an installed package.") { name };
        command.SetAction((parsed, cancellationToken) => Refusing(async () =>
        {
            var removed = await Installer(context).RemoveAsync(parsed.GetValue(name)!, cancellationToken);
            await context.Output.WriteLineAsync($"removed {removed.Manifest.Name} {removed.Manifest.Version}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Show(CliContext context)
    {
        var target = new Argument<string>("NAME|FILE.ptar") { Description = "An installed package's name, or a package file to verify and describe." };
        var command = new Command("show", "Describe an installed package or verify and describe a package file.") { target };
        command.SetAction((parsed, cancellationToken) => Refusing(async () =>
        {
            var what = parsed.GetValue(target)!;
            if (what.EndsWith(PackageFileName.Extension, StringComparison.Ordinal) || File.Exists(what))
            {
                var manifest = await PackageArchive.VerifyAsync(what, cancellationToken: cancellationToken);
                string? whyNot = null;
                try
                {
                    PackageInstaller.CheckRunsHere(Path.GetFileName(what), manifest);
                }
                catch (PackageException e)
                {
                    whyNot = e.Message;
                }

                if (context.IsJson)
                {
                    // The manifest as the file holds it, and what verifying it found.
                    var shown = System.Text.Json.Nodes.JsonNode.Parse(manifest.ToJson())!.AsObject();
                    shown["file"] = Path.GetFullPath(what);
                    shown["files_verified"] = true;
                    shown["runs_here"] = whyNot is null;
                    shown["why_not"] = whyNot;
                    await context.Output.WriteLineAsync(shown.ToJsonString());
                    return ExitCodes.Success;
                }

                WriteLong(context.Output, manifest, null);
                await context.Output.WriteLineAsync($"  files        {manifest.Files.Count}, {manifest.Files.Sum(f => f.Size)} bytes, all checksums verified");
                await context.Output.WriteLineAsync(whyNot is null ? "  runs here    yes" : $"  runs here    no: {whyNot}");
                return ExitCodes.Success;
            }

            var package = Installer(context).Find(what)
                ?? throw new CliFailure($"package '{what}' is not installed: see 'coffer pkg list', or give a .ptar file");
            if (context.IsJson)
            {
                // The element 'pkg list --json' shows for it, on one line, and who signed it.
                var shown = System.Text.Json.Nodes.JsonNode.Parse(InstalledPackage.ToJson([package]))![0]!.AsObject();
                shown["signed_by"] = package.ReadSignature()?.Key.Text;
                await context.Output.WriteLineAsync(shown.ToJsonString());
                return ExitCodes.Success;
            }

            WriteLong(context.Output, package.Manifest, package.Directory);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static PackageInstaller Installer(CliContext context) => new(context.Paths);

    // Every package refusal is one line on stderr and exit code 1.
    internal static async Task<int> Refusing(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (PackageException e)
        {
            throw new CliFailure(e.Message, e);
        }
    }

    // "posix" or "azblob": the bundled plugin's project in the checkout this coffer runs from (or the current directory is in).
    private static string BundledProject(string nameOrPath)
    {
        if (nameOrPath.Contains('/', StringComparison.Ordinal) || Directory.Exists(nameOrPath) || File.Exists(nameOrPath) || !PackageManifest.IsValidName(nameOrPath))
        {
            return nameOrPath;
        }

        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var project = directory.Exists
                    ? directory.EnumerateDirectories("Plugins.*").FirstOrDefault(d => string.Equals(d.Name, "Plugins." + nameOrPath, StringComparison.OrdinalIgnoreCase))
                    : null;
                if (project is not null)
                {
                    return project.FullName;
                }
            }
        }

        throw new CliFailure($"'{nameOrPath}' is neither a project directory nor a bundled plugin of a coffer checkout (Plugins.*): run it inside a checkout, or give the project's path");
    }

    // pkg build loads the freshly published plugin the way the host will, so the manifest lists exactly
    // the connectors its entry type registers.
    private static Task<IReadOnlyList<ConnectorManifest>> DescribeConnectorsAsync(string packageName, string entryAssemblyPath, CancellationToken cancellationToken)
    {
        using var catalog = ConnectorCatalog.Load([new PluginSource(packageName, entryAssemblyPath)]);
        if (catalog.Errors.Count > 0)
        {
            throw new PackageException($"{catalog.Errors[0]}: fix the plugin before packaging it");
        }

        if (catalog.Connectors.Count == 0)
        {
            throw new PackageException($"plugin '{packageName}' registers no connector factories: its ICofferPlugin must call AddConnectorFactory");
        }

        return Task.FromResult<IReadOnlyList<ConnectorManifest>>(catalog.Connectors.Select(c => ConnectorManifest.From(c.Descriptor)).ToList());
    }

    private static string Schemes(PackageManifest manifest) => string.Join(", ", manifest.Connectors
        .GroupBy(c => c.Scheme, StringComparer.Ordinal)
        .Select(g => $"{g.Key} ({string.Join(' ', g.Select(c => c.Kind.ToString().ToLowerInvariant()))})"));

    private static void WriteLong(TextWriter output, PackageManifest m, string? directory)
    {
        output.WriteLine($"{m.Name} {m.Version}");
        foreach (var (label, value) in new[] { ("description", m.Description), ("license", m.License), ("homepage", m.Homepage) })
        {
            if (!string.IsNullOrEmpty(value))
            {
                output.WriteLine($"  {label,-12} {value}");
            }
        }

        output.WriteLine($"  platform     {m.Os}/{m.Arch}, contracts ABI {m.Abi}");
        output.WriteLine($"  entry        {m.Entry}");
        if (directory is not null)
        {
            output.WriteLine($"  directory    {directory}");
        }

        foreach (var c in m.Connectors)
        {
            ConnectorsCommand.Write(output, "  ", c.Kind, $"{c.Scheme,-10}", c.Description, c.Options);
        }
    }

    // Kept out of line so a redirected 'pkg list' never loads Spectre.Console.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteTable(IReadOnlyList<InstalledPackage> packages)
    {
        var table = new Table().AddColumns("name", "version", "platform", "connectors");
        foreach (var package in packages)
        {
            var m = package.Manifest;
            table.AddRow(Markup.Escape(m.Name), Markup.Escape(m.Version), Markup.Escape($"{m.Os}/{m.Arch}"), Markup.Escape(Schemes(m)));
        }

        AnsiConsole.Write(table);
    }
}
