using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Coffer.Architecture.Tests.Checking;

/// <summary>A type by namespace and metadata name (generic arity included, e.g. <c>List`1</c>).</summary>
public readonly record struct TypeName(string Namespace, string Name)
{
    /// <summary>Whether the type is in <paramref name="namespacePrefix"/> or one of its sub-namespaces.</summary>
    public bool IsIn(string namespacePrefix) =>
        Namespace == namespacePrefix || Namespace.StartsWith(namespacePrefix + ".", StringComparison.Ordinal);

    public override string ToString() => Namespace.Length == 0 ? Name : $"{Namespace}.{Name}";
}

/// <summary>A member of a type as a call site names it, e.g. <c>IStorageConnector::ListAsync</c>.</summary>
public readonly record struct MemberName(TypeName DeclaringType, string Name)
{
    public override string ToString() => $"{DeclaringType}::{Name}";
}

/// <summary>What one top-level type of an assembly uses: the types and the members it names anywhere.</summary>
/// <remarks>
/// Nested types, compiler-generated ones included (lambda closures, async and iterator state machines),
/// are folded into their outermost declaring type: the code in them is that type's code.
/// </remarks>
public sealed class TypeUses
{
    public TypeUses(TypeName type) => Type = type;

    public TypeName Type { get; }

    public HashSet<TypeName> Types { get; } = [];

    public HashSet<MemberName> Members { get; } = [];
}

/// <summary>The dependencies one assembly's metadata and IL declare.</summary>
public sealed class AssemblyDependencies
{
    private AssemblyDependencies(string assemblyName, IReadOnlySet<string> referencedAssemblies, IReadOnlyDictionary<TypeName, TypeUses> types)
    {
        AssemblyName = assemblyName;
        ReferencedAssemblies = referencedAssemblies;
        Types = types;
    }

    public string AssemblyName { get; }

    /// <summary>The simple names of the assemblies this one references.</summary>
    public IReadOnlySet<string> ReferencedAssemblies { get; }

    /// <summary>Each top-level type defined here and what it uses.</summary>
    public IReadOnlyDictionary<TypeName, TypeUses> Types { get; }

    /// <summary>Reads the assembly at <paramref name="path"/> as metadata; nothing of it is loaded or run.</summary>
    public static AssemblyDependencies Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var peReader = new PEReader(stream);
        var metadata = peReader.GetMetadataReader();

        var referencedAssemblies = metadata.AssemblyReferences
            .Select(handle => metadata.GetString(metadata.GetAssemblyReference(handle).Name))
            .ToHashSet(StringComparer.Ordinal);

        var walker = new DependencyWalker(peReader, metadata);
        foreach (var handle in metadata.TypeDefinitions)
        {
            walker.Walk(handle);
        }

        return new AssemblyDependencies(
            metadata.GetString(metadata.GetAssemblyDefinition().Name),
            referencedAssemblies,
            walker.Uses);
    }
}
