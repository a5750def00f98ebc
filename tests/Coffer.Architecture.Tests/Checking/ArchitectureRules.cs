namespace Coffer.Architecture.Tests.Checking;

/// <summary>A rule over one assembly's dependencies; each violation is a line naming who uses what.</summary>
public interface IArchitectureRule
{
    IEnumerable<string> Check(AssemblyDependencies assembly);
}

/// <summary>Checks assemblies against rules.</summary>
public static class ArchitectureChecker
{
    /// <summary>The violations of <paramref name="rules"/> by the assembly at <paramref name="assemblyPath"/>, sorted.</summary>
    public static IReadOnlyList<string> Check(string assemblyPath, params IEnumerable<IArchitectureRule> rules)
    {
        var assembly = AssemblyDependencies.Read(assemblyPath);
        return [.. rules.SelectMany(rule => rule.Check(assembly)).Distinct().Order(StringComparer.Ordinal)];
    }
}

/// <summary>The assembly references none of <paramref name="ForbiddenAssemblies"/> (by simple name).</summary>
public sealed record ForbiddenAssemblyReferences(params IReadOnlyList<string> ForbiddenAssemblies) : IArchitectureRule
{
    public IEnumerable<string> Check(AssemblyDependencies assembly) =>
        ForbiddenAssemblies
            .Where(assembly.ReferencedAssemblies.Contains)
            .Select(forbidden => $"{assembly.AssemblyName} -> assembly {forbidden}");
}

/// <summary>
/// No type in namespace <paramref name="Layer"/> (or below it) uses a type in any of
/// <paramref name="ForbiddenLayers"/> (or below them).
/// </summary>
public sealed record LayerRule(string Layer, params IReadOnlyList<string> ForbiddenLayers) : IArchitectureRule
{
    public IEnumerable<string> Check(AssemblyDependencies assembly) =>
        from uses in assembly.Types.Values
        where uses.Type.IsIn(Layer)
        from used in uses.Types
        where ForbiddenLayers.Any(used.IsIn)
        select $"{uses.Type} -> {used}";
}

/// <summary>A type outside the owning namespaces that may hold and pass a restricted type, and use only these of its members.</summary>
/// <param name="Type">The full name of the allowed type, e.g. <c>Coffer.Cli.StoreReferences</c>.</param>
/// <param name="Members">The members it may use, as metadata names (a property getter is <c>get_Name</c>).</param>
public sealed record RestrictedTypeAllowance(string Type, params IReadOnlyList<string> Members);

/// <summary>
/// Only types in <paramref name="OwningNamespaces"/> use <paramref name="Restricted"/> or its members;
/// the types in <paramref name="Allowances"/> may hold and pass it and use the members they list.
/// </summary>
public sealed record RestrictedTypeRule(TypeName Restricted, IReadOnlyList<string> OwningNamespaces, IReadOnlyList<RestrictedTypeAllowance> Allowances) : IArchitectureRule
{
    public IEnumerable<string> Check(AssemblyDependencies assembly)
    {
        foreach (var uses in assembly.Types.Values)
        {
            if (uses.Type == Restricted || OwningNamespaces.Any(uses.Type.IsIn))
            {
                continue;
            }

            var allowance = Allowances.FirstOrDefault(a => a.Type == uses.Type.ToString());
            var members = uses.Members.Where(member => member.DeclaringType == Restricted).ToList();
            foreach (var member in members.Where(m => allowance is null || !allowance.Members.Contains(m.Name)))
            {
                yield return $"{uses.Type} -> {member}";
            }

            if (allowance is null && members.Count == 0 && uses.Types.Contains(Restricted))
            {
                yield return $"{uses.Type} -> {Restricted}";
            }
        }
    }
}
