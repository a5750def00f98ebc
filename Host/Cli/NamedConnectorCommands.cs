using System.CommandLine;
using Coffer.Abstractions;
using Coffer.Connectors;

namespace Coffer.Cli;

/// <summary>
/// <c>coffer store|source|destination add|list|show|rm|set|unset</c>: named connectors, as Plakar has them.
/// Options are checked against what the connector declares; secrets are masked unless <c>--secrets</c>.
/// </summary>
internal static class NamedConnectorCommands
{
    private const string Mask = "********";

    // 'store add mine': "store 'mine' added", or one JSON result under --json.
    private static void Changed(CliContext context, string command, string name, string done)
    {
        if (context.IsJson)
        {
            context.Json.Write(new JsonNamedChange(command, name), CliJsonContext.Default.JsonNamedChange);
        }
        else
        {
            context.Output.WriteLine($"{command.Split(' ')[0]} '{name}' {done}");
        }
    }

    public static Command Create(CliContext context, ConnectorKind kind)
    {
        var named = new NamedConnectors(context.Paths.ConfigDirectory, kind);
        var noun = named.Noun;
        var command = new Command(noun, $"Manage named {noun}s, used as @NAME.");

        var nameArgument = new Argument<string>("NAME") { Description = $"The {noun}'s name." };
        var locationArgument = new Argument<string>("LOCATION") { Description = "A path or a scheme://… location." };
        var pairs = new Argument<string[]>("key=value") { Description = "Connector options.", Arity = ArgumentArity.ZeroOrMore };

        var add = new Command("add", $"Add a named {noun}.") { nameArgument, locationArgument, pairs };
        add.SetAction(parse =>
        {
            var name = parse.GetValue(nameArgument)!;
            if (!NamedConnectors.IsValidName(name))
            {
                throw new CliFailure($"'{name}' is not a valid {noun} name: use letters, digits, '-', '_' and '.'");
            }

            if (named.Find(name) is not null)
            {
                throw new CliFailure($"a {noun} named '{name}' already exists: change it with 'coffer {noun} set {name} key=value' or remove it first");
            }

            var connector = new NamedConnector { Location = parse.GetValue(locationArgument)!, Options = ParsePairs(parse.GetValue(pairs) ?? []) };
            Validate(context, kind, connector);
            named.Save(name, connector);
            Changed(context, $"{noun} add", name, "added");
            return ExitCodes.Success;
        });

        var list = new Command("list", $"List named {noun}s.");
        list.SetAction(_ =>
        {
            if (context.IsJson)
            {
                context.Json.Write(named.List().Select(name => Shown(context, kind, name, named.Get(name).Location, named.Get(name).Options, reveal: false)).ToList(), CliJsonContext.Default.ListJsonNamedConnector);
                return ExitCodes.Success;
            }

            foreach (var name in named.List())
            {
                context.Output.WriteLine($"{name}\t{named.Get(name).Location}");
            }

            return ExitCodes.Success;
        });

        var secrets = new Option<bool>("--secrets") { Description = "Show secret options instead of masking them." };
        var show = new Command("show", $"Show a named {noun}.") { nameArgument, secrets };
        show.SetAction(parse =>
        {
            var name = parse.GetValue(nameArgument)!;
            var connector = named.Get(name);
            var reveal = parse.GetValue(secrets);
            if (context.IsJson)
            {
                context.Json.Write(Shown(context, kind, name, connector.Location, connector.Options, reveal), CliJsonContext.Default.JsonNamedConnector);
                return ExitCodes.Success;
            }

            var secretNames = SecretOptions(context, kind, connector.Location);
            context.Output.WriteLine($"{name}");
            context.Output.WriteLine($"    location={connector.Location}");
            foreach (var (key, value) in connector.Options.OrderBy(o => o.Key, StringComparer.Ordinal))
            {
                var hidden = !reveal && (secretNames?.Contains(key) ?? LooksSecret(key));
                context.Output.WriteLine($"    {key}={(hidden ? Mask : value)}");
            }

            return ExitCodes.Success;
        });

        var rm = new Command("rm", $"Remove a named {noun} (its data is left alone).") { nameArgument };
        rm.SetAction(parse =>
        {
            var name = parse.GetValue(nameArgument)!;
            if (!named.Remove(name))
            {
                throw new CliFailure($"no {noun} named '{name}': see 'coffer {noun} list'");
            }

            Changed(context, $"{noun} rm", name, "removed");
            return ExitCodes.Success;
        });

        var set = new Command("set", $"Set options of a named {noun}.") { nameArgument, pairs };
        set.SetAction(parse =>
        {
            var name = parse.GetValue(nameArgument)!;
            var connector = named.Get(name);
            var options = new Dictionary<string, string>(connector.Options, StringComparer.Ordinal);
            foreach (var (key, value) in ParsePairs(parse.GetValue(pairs) ?? []))
            {
                options[key] = value;
            }

            var updated = connector with { Options = options };
            Validate(context, kind, updated);
            named.Save(name, updated);
            Changed(context, $"{noun} set", name, "updated");
            return ExitCodes.Success;
        });

        var keys = new Argument<string[]>("key") { Description = "Option names to remove.", Arity = ArgumentArity.OneOrMore };
        var unset = new Command("unset", $"Remove options of a named {noun}.") { nameArgument, keys };
        unset.SetAction(parse =>
        {
            var name = parse.GetValue(nameArgument)!;
            var connector = named.Get(name);
            var options = new Dictionary<string, string>(connector.Options, StringComparer.Ordinal);
            foreach (var key in parse.GetValue(keys) ?? [])
            {
                if (!options.Remove(key))
                {
                    throw new CliFailure($"{noun} '{name}' has no option '{key}': see 'coffer {noun} show {name}'");
                }
            }

            var updated = connector with { Options = options };
            Validate(context, kind, updated);
            named.Save(name, updated);
            Changed(context, $"{noun} unset", name, "updated");
            return ExitCodes.Success;
        });

        command.Subcommands.Add(add);
        command.Subcommands.Add(list);
        command.Subcommands.Add(show);
        command.Subcommands.Add(rm);
        command.Subcommands.Add(set);
        command.Subcommands.Add(unset);
        return command;
    }

    internal static Dictionary<string, string> ParsePairs(IEnumerable<string> pairs)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CliFailure($"'{pair.Split('=')[0]}' is not a key=value option: write it as key=value");
            }

            options[pair[..equals]] = pair[(equals + 1)..];
        }

        return options;
    }

    private static void Validate(CliContext context, ConnectorKind kind, NamedConnector connector)
    {
        var configuration = connector.ToConfiguration();
        var factory = context.Catalog.Find<IConnectorFactory>(kind, configuration.Scheme);
        configuration.Validate(factory.Descriptor);
    }

    // The connector's declared secrets; null when its package is not installed (then guess by name).
    private static HashSet<string>? SecretOptions(CliContext context, ConnectorKind kind, string location)
    {
        var scheme = ConnectorConfiguration.ParseLocation(location).Scheme;
        var connector = context.Catalog.FindOrDefault(kind, scheme);
        return connector?.Descriptor.Options.Where(o => o.Secret).Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
    }

    // A named connector as --json shows it: secrets masked unless asked for, as 'show' prints them.
    private static JsonNamedConnector Shown(CliContext context, ConnectorKind kind, string name, string location, IReadOnlyDictionary<string, string> options, bool reveal)
    {
        var secretNames = reveal ? null : SecretOptions(context, kind, location);
        return new JsonNamedConnector(name, location, options.OrderBy(o => o.Key, StringComparer.Ordinal).ToDictionary(
            o => o.Key, o => !reveal && (secretNames?.Contains(o.Key) ?? LooksSecret(o.Key)) ? Mask : o.Value, StringComparer.Ordinal));
    }

    private static readonly string[] SecretWords = ["key", "secret", "password", "passphrase", "token", "connection", "sas"];

    private static bool LooksSecret(string key) =>
        SecretWords.Any(w => key.Contains(w, StringComparison.OrdinalIgnoreCase));
}
