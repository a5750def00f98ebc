using System.CommandLine;
using Coffer.Abstractions;
using Coffer.Packager;
using Coffer.Packager.Repositories;
using Coffer.Packager.Signing;

namespace Coffer.Cli;

/// <summary>
/// <c>coffer pkg repo|key|trust|publish|search|upgrade|outdated</c> and installing by name: packages from
/// signed repositories (docs/packages.md).
/// </summary>
internal static class PkgRepositoryCommands
{
    public static IEnumerable<Command> Create(CliContext context) =>
        [Repo(context), Key(context), Trust(context), Publish(context), Search(context), Upgrade(context), Outdated(context)];

    private static Command Repo(CliContext context)
    {
        var list = new RepositoryList(context.Paths);
        var name = new Argument<string>("NAME") { Description = "The repository's name." };
        var location = new Argument<string>("LOCATION") { Description = "A directory, an http(s):// URL, or a connector location such as azblob://container/prefix." };
        var pairs = new Argument<string[]>("key=value") { Description = "Connector options, as named stores take them.", Arity = ArgumentArity.ZeroOrMore };

        var add = new Command("add", "Add a package repository.") { name, location, pairs };
        add.SetAction(parsed => PkgCommand.Refusing(() =>
        {
            var where = parsed.GetValue(location)!;
            var kind = RepositoryDefinition.KindOf(where);
            var options = NamedConnectorCommands.ParsePairs(parsed.GetValue(pairs) ?? []);
            if (kind != RepositoryLocationKind.Connector && options.Count > 0)
            {
                throw new CliFailure($"options are for connector locations (scheme://…), not for {where}: drop them");
            }

            var repository = new RepositoryDefinition(parsed.GetValue(name)!, kind == RepositoryLocationKind.Directory ? Path.GetFullPath(where) : where, options);
            if (kind == RepositoryLocationKind.Connector)
            {
                // The options are checked against the connector now, not at the first 'pkg add'.
                var configuration = new ConnectorConfiguration(repository.Location, options);
                configuration.Validate(context.Catalog.Find<IConnectorFactory>(ConnectorKind.Source, configuration.Scheme).Descriptor);
            }

            list.Add(repository);
            context.Output.WriteLine($"repository '{repository.Name}' added: {Describe(repository)}");
            return Task.FromResult(ExitCodes.Success);
        }));

        var ls = new Command("list", "List package repositories.");
        ls.SetAction(_ =>
        {
            foreach (var repository in list.List())
            {
                context.Output.WriteLine($"{repository.Name,-16} {Describe(repository)}");
            }

            return ExitCodes.Success;
        });

        var remove = new Command("remove", "Remove a package repository (installed packages stay).") { name };
        remove.SetAction(parsed => PkgCommand.Refusing(() =>
        {
            list.Remove(parsed.GetValue(name)!);
            context.Output.WriteLine($"repository '{parsed.GetValue(name)}' removed");
            return Task.FromResult(ExitCodes.Success);
        }));

        return new Command("repo", "Manage the repositories packages are installed from by name.") { add, ls, remove };
    }

    private static Command Key(CliContext context)
    {
        var output = new Option<string>("--output", "-o") { Description = "The private key file to write (mode 0600); the public key goes to FILE.pub.", Required = true };
        var generate = new Command("generate", "Make an Ed25519 key pair for signing packages and indexes.") { output };
        generate.SetAction(parsed => PkgCommand.Refusing(() =>
        {
            var path = parsed.GetValue(output)!;
            using var key = SigningKey.Generate(path);
            File.WriteAllText(path + ".pub", key.PublicKey.Text + "\n");
            context.Output.WriteLine(key.PublicKey.Text);
            return Task.FromResult(ExitCodes.Success);
        }));
        return new Command("key", "Manage signing keys.") { generate };
    }

    private static Command Trust(CliContext context)
    {
        var keys = new TrustedKeys(context.Paths);
        var key = new Argument<string>("PUBLICKEY") { Description = "ed25519:BASE64, or a .pub file holding it." };

        var add = new Command("add", "Trust a publisher's key for packages and repository indexes.") { key };
        add.SetAction(parsed => PkgCommand.Refusing(() =>
        {
            var publicKey = TrustedKeys.Parse(parsed.GetValue(key)!);
            context.Output.WriteLine(keys.Add(publicKey) ? $"trusted {publicKey.Text}" : $"{publicKey.Text} is already trusted");
            return Task.FromResult(ExitCodes.Success);
        }));

        var list = new Command("list", "List the trusted keys.");
        list.SetAction(_ =>
        {
            foreach (var trusted in keys.List())
            {
                context.Output.WriteLine(trusted.Text);
            }

            return ExitCodes.Success;
        });

        var remove = new Command("remove", "Stop trusting a key.") { key };
        remove.SetAction(parsed => PkgCommand.Refusing(() =>
        {
            var publicKey = TrustedKeys.Parse(parsed.GetValue(key)!);
            if (!keys.Remove(publicKey))
            {
                throw new CliFailure($"{publicKey.Text} is not trusted: see 'coffer pkg trust list'");
            }

            context.Output.WriteLine($"no longer trusted: {publicKey.Text}");
            return Task.FromResult(ExitCodes.Success);
        }));

        return new Command("trust", "Manage the keys packages and indexes must be signed by.") { add, list, remove };
    }

    private static Command Publish(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The .ptar package." };
        var to = new Option<string>("--to") { Description = "The repository's name (see 'coffer pkg repo list').", Required = true };
        var keyFile = new Option<string>("--key") { Description = "The publisher's private key file.", Required = true };
        var days = new Option<int>("--expires-in") { Description = "Days the re-signed index stays valid (default 30).", DefaultValueFactory = _ => 30 };
        var command = new Command("publish", "Sign a package, add it to a repository and re-sign the repository's index.") { file, to, keyFile, days };
        command.SetAction((parsed, cancellationToken) => PkgCommand.Refusing(async () =>
        {
            if (parsed.GetValue(days) is < 1 or > 3660)
            {
                throw new CliFailure($"--expires-in {parsed.GetValue(days)} is out of range: give 1 to 3660 days");
            }

            var repository = new RepositoryList(context.Paths).Get(parsed.GetValue(to)!);
            using var key = SigningKey.Load(parsed.GetValue(keyFile)!);
            await using var transport = Open(context, repository);
            var (entry, version) = await Client(context).PublishAsync(parsed.GetValue(file)!, transport, key, TimeSpan.FromDays(parsed.GetValue(days)), cancellationToken);
            await context.Output.WriteLineAsync($"published {entry.Name} {entry.Version} ({entry.Os}/{entry.Arch}) to '{repository.Name}', index version {version}, signed by {key.PublicKey.Text}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Search(CliContext context)
    {
        var term = new Argument<string?>("TERM") { Description = "Part of a package's name or description (nothing lists all).", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("search", "List the packages of the repositories, newest version of each that runs here.") { term };
        command.SetAction((parsed, cancellationToken) => PkgCommand.Refusing(async () =>
        {
            var what = parsed.GetValue(term) ?? "";
            var indexes = await ReadIndexesAsync(context, cancellationToken);
            var names = indexes.SelectMany(i => i.Index.Packages)
                .Where(e => e.Name.Contains(what, StringComparison.OrdinalIgnoreCase) || e.Description.Contains(what, StringComparison.OrdinalIgnoreCase))
                .Select(e => e.Name).Distinct().Order(StringComparer.Ordinal);
            var found = 0;
            foreach (var name in names)
            {
                if (PackageRepositories.Pick(indexes, name, null) is { } newest)
                {
                    found++;
                    await context.Output.WriteLineAsync($"{name,-16} {newest.Entry.Version,-12} {newest.Entry.Os + "/" + newest.Entry.Arch,-14} {newest.Repository.Name,-12} {newest.Entry.Description}");
                }
            }

            if (found == 0)
            {
                await context.Error.WriteLineAsync($"coffer: no package {(what.Length == 0 ? "" : $"matching '{what}' ")}runs here in {indexes.Count} repositor{(indexes.Count == 1 ? "y" : "ies")}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Upgrade(CliContext context)
    {
        var names = new Argument<string[]>("NAME") { Description = "Installed packages to upgrade (nothing: all).", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("upgrade", "Install the newest version of installed packages from the repositories.") { names };
        command.SetAction((parsed, cancellationToken) => PkgCommand.Refusing(async () =>
        {
            var installer = new PackageInstaller(context.Paths);
            var indexes = await ReadIndexesAsync(context, cancellationToken);
            var wanted = parsed.GetValue(names) ?? [];
            var installed = installer.List();
            foreach (var name in wanted.Where(n => installed.All(p => p.Manifest.Name != n)))
            {
                throw new CliFailure($"package '{name}' is not installed: install it with 'coffer pkg add {name}'");
            }

            foreach (var package in installed.Where(p => wanted.Length == 0 || wanted.Contains(p.Manifest.Name)))
            {
                var current = package.Manifest.Version;
                var newest = PackageRepositories.Pick(indexes, package.Manifest.Name, null);
                if (newest is null || SemanticVersionComparer.Instance.Compare(newest.Entry.Version, current) <= 0)
                {
                    await context.Output.WriteLineAsync($"{package.Manifest.Name} {current} is up to date");
                    continue;
                }

                await InstallAsync(context, newest, upgrade: true, cancellationToken);
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Outdated(CliContext context)
    {
        var command = new Command("outdated", "List installed packages a repository has a newer version of.");
        command.SetAction((parsed, cancellationToken) => PkgCommand.Refusing(async () =>
        {
            var indexes = await ReadIndexesAsync(context, cancellationToken);
            foreach (var package in new PackageInstaller(context.Paths).List())
            {
                var newest = PackageRepositories.Pick(indexes, package.Manifest.Name, null);
                if (newest is not null && SemanticVersionComparer.Instance.Compare(newest.Entry.Version, package.Manifest.Version) > 0)
                {
                    await context.Output.WriteLineAsync($"{package.Manifest.Name,-16} {package.Manifest.Version,-12} -> {newest.Entry.Version,-12} ({newest.Repository.Name})");
                }
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary><c>pkg add NAME[@VERSION]</c>: the newest version that runs here (or the one asked for) from the repositories.</summary>
    public static async Task<InstallResult> AddByNameAsync(CliContext context, string reference, bool upgrade, CancellationToken cancellationToken)
    {
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        var (name, version) = at < 0 ? (reference, null) : (reference[..at], reference[(at + 1)..]);
        if (!PackageManifest.IsValidName(name) || (version is not null && !PackageManifest.IsValidVersion(version)))
        {
            throw new CliFailure($"'{reference}' is neither a .ptar file nor NAME[@VERSION]: give a package file or a name such as azblob or azblob@1.0.0");
        }

        var indexes = await ReadIndexesAsync(context, cancellationToken);
        if (indexes.Count == 0)
        {
            throw new CliFailure($"no repository to find '{name}' in: add one with 'coffer pkg repo add NAME LOCATION', or give a .ptar file");
        }

        var package = PackageRepositories.Pick(indexes, name, version)
            ?? throw new CliFailure($"no {name}{(version is null ? "" : $" {version}")} for {PackagePlatform.CurrentOs}/{PackagePlatform.CurrentArch} and ABI {CofferAbi.Current} in {string.Join(", ", indexes.Select(i => i.Repository.Name))}: see 'coffer pkg search {name}'");
        return await InstallAsync(context, package, upgrade, cancellationToken);
    }

    private static async Task<InstallResult> InstallAsync(CliContext context, RepositoryPackage package, bool upgrade, CancellationToken cancellationToken)
    {
        await using var transport = Open(context, package.Repository);
        var result = await Client(context).InstallAsync(package, transport, new PackageInstaller(context.Paths), upgrade, cancellationToken);
        await PkgCommand.WriteInstalledAsync(context, result);
        return result;
    }

    private static async Task<List<VerifiedIndex>> ReadIndexesAsync(CliContext context, CancellationToken cancellationToken)
    {
        var client = Client(context);
        var indexes = new List<VerifiedIndex>();
        foreach (var repository in new RepositoryList(context.Paths).List())
        {
            await using var transport = Open(context, repository);
            indexes.Add(await client.ReadIndexAsync(repository, transport, cancellationToken));
        }

        return indexes;
    }

    private static PackageRepositories Client(CliContext context) => new(context.Paths, context.Time);

    private static IRepositoryTransport Open(CliContext context, RepositoryDefinition repository) => repository.Kind switch
    {
        RepositoryLocationKind.Http => new HttpRepositoryTransport(new Uri(repository.Location)),
        RepositoryLocationKind.Connector => new ConnectorRepositoryTransport(context, new ConnectorConfiguration(repository.Location, repository.Options)),
        _ => new DirectoryRepositoryTransport(repository.Location.StartsWith("fs://", StringComparison.Ordinal) ? repository.Location["fs://".Length..] : repository.Location),
    };

    private static string Describe(RepositoryDefinition repository) => repository.Kind switch
    {
        RepositoryLocationKind.Http => $"{repository.Location} (http, read-only)",
        RepositoryLocationKind.Connector => $"{repository.Location} ({repository.Options.Count} option{(repository.Options.Count == 1 ? "" : "s")})",
        _ => $"{repository.Location} (directory)",
    };
}
