using System.CommandLine;
using Coffer.Abstractions;

namespace Coffer.Cli;

/// <summary><c>coffer connectors</c>: what the installed plugins provide.</summary>
internal static class ConnectorsCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("connectors", "List the connectors the installed packages provide: kind, scheme, package and options.");
        command.SetAction(_ =>
        {
            // Listing loads every package (only here: a store command loads only the ones it needs), so
            // the packages that fail to load are reported now.
            var reported = context.Catalog.Errors.Count;
            var connectors = context.Catalog.Connectors;
            foreach (var line in context.Catalog.Errors.Skip(reported))
            {
                context.Error.WriteLine($"coffer: {line}");
            }

            if (context.IsJson)
            {
                context.Json.Write(connectors.OrderBy(c => c.Descriptor.Scheme, StringComparer.Ordinal).ThenBy(c => c.Descriptor.Kind)
                    .Select(c => new JsonConnector(c.Descriptor.Kind.ToString().ToLowerInvariant(), c.Descriptor.Scheme, c.Package, c.Descriptor.Description,
                        c.Descriptor.Options.Select(o => new JsonConnectorOption(o.Name, o.Description, o.Required, o.Secret)).ToList())).ToList(), CliJsonContext.Default.ListJsonConnector);
            }
            else if (connectors.Count == 0)
            {
                context.Output.WriteLine("no connectors: install a package with 'coffer pkg add FILE.ptar'");
            }
            else
            {
                foreach (var connector in connectors.OrderBy(c => c.Descriptor.Scheme, StringComparer.Ordinal).ThenBy(c => c.Descriptor.Kind))
            {
                var d = connector.Descriptor;
                Write(context.Output, "", d.Kind, $"{d.Scheme,-10} {connector.Package,-12}", d.Description, d.Options);
                }
            }

            return context.Catalog.Errors.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    /// <summary>
    /// Writes one connector and its options, as <c>coffer connectors</c> and <c>coffer pkg show</c> list them:
    /// the kind, <paramref name="columns"/>, the description, then one indented line per option.
    /// </summary>
    public static void Write(TextWriter output, string indent, ConnectorKind kind, string columns, string description, IEnumerable<ConnectorOption> options)
    {
        output.WriteLine($"{indent}{kind.ToString().ToLowerInvariant(),-12} {columns} {description}");
        foreach (var option in options)
        {
            var flags = string.Join(",", new[] { option.Required ? "required" : null, option.Secret ? "secret" : null }.OfType<string>());
            output.WriteLine($"{indent}    {option.Name,-24} {option.Description}{(flags.Length > 0 ? $" ({flags})" : "")}");
        }
    }
}
