using System.CommandLine;
using Coffer.Abstractions;

namespace Coffer.Host.Cli;

/// <summary><c>coffer connectors</c>: what the installed plugins provide.</summary>
internal static class ConnectorsCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("connectors", "List the connectors the installed packages provide: kind, scheme, package and options.");
        command.SetAction(_ =>
        {
            var connectors = context.Catalog.Connectors;
            if (connectors.Count == 0)
            {
                context.Output.WriteLine("no connectors: install a package with 'coffer pkg add FILE.ptar'");
                return context.Catalog.Errors.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
            }

            foreach (var connector in connectors.OrderBy(c => c.Descriptor.Scheme, StringComparer.Ordinal).ThenBy(c => c.Descriptor.Kind))
            {
                var d = connector.Descriptor;
                context.Output.WriteLine($"{d.Kind.ToString().ToLowerInvariant(),-12} {d.Scheme,-10} {connector.Package,-12} {d.Description}");
                foreach (var option in d.Options)
                {
                    var flags = string.Join(",", new[] { option.Required ? "required" : null, option.Secret ? "secret" : null }.OfType<string>());
                    context.Output.WriteLine($"    {option.Name,-24} {option.Description}{(flags.Length > 0 ? $" ({flags})" : "")}");
                }
            }

            return context.Catalog.Errors.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }
}
