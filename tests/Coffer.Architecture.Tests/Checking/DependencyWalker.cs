using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Coffer.Architecture.Tests.Checking;

/// <summary>
/// Collects, for each type definition, every type and member it names: base type, interfaces, generic
/// constraints, field, method, property and event signatures, attributes, explicit interface
/// implementations, and in method bodies the locals, catch clauses and the IL operands (call, newobj,
/// ldfld, ldtoken, castclass, …).
/// </summary>
internal sealed class DependencyWalker
{
    // The operand kind of every IL opcode, from the runtime's own table, so the walker steps over operands it does not read.
    private static readonly Dictionary<ushort, OperandType> OperandTypes = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(field => (OpCode)field.GetValue(null)!)
        .ToDictionary(opCode => unchecked((ushort)opCode.Value), opCode => opCode.OperandType);

    private readonly PEReader _peReader;
    private readonly MetadataReader _metadata;
    private readonly TypeCollector _signatures;
    private TypeUses _current = new(default);

    public DependencyWalker(PEReader peReader, MetadataReader metadata)
    {
        _peReader = peReader;
        _metadata = metadata;
        _signatures = new TypeCollector(this);
    }

    public Dictionary<TypeName, TypeUses> Uses { get; } = [];

    public void Walk(TypeDefinitionHandle handle)
    {
        var owner = NameOf(handle);
        if (!Uses.TryGetValue(owner, out var uses))
        {
            Uses[owner] = uses = new TypeUses(owner);
        }

        _current = uses;
        var type = _metadata.GetTypeDefinition(handle);
        AddType(type.BaseType);
        foreach (var interfaceHandle in type.GetInterfaceImplementations())
        {
            AddType(_metadata.GetInterfaceImplementation(interfaceHandle).Interface);
        }

        AddGenericParameters(type.GetGenericParameters());
        AddAttributes(type.GetCustomAttributes());

        foreach (var fieldHandle in type.GetFields())
        {
            var field = _metadata.GetFieldDefinition(fieldHandle);
            field.DecodeSignature(_signatures, null);
            AddAttributes(field.GetCustomAttributes());
        }

        foreach (var methodHandle in type.GetMethods())
        {
            WalkMethod(_metadata.GetMethodDefinition(methodHandle));
        }

        foreach (var propertyHandle in type.GetProperties())
        {
            var property = _metadata.GetPropertyDefinition(propertyHandle);
            property.DecodeSignature(_signatures, null);
            AddAttributes(property.GetCustomAttributes());
        }

        foreach (var eventHandle in type.GetEvents())
        {
            var @event = _metadata.GetEventDefinition(eventHandle);
            AddType(@event.Type);
            AddAttributes(@event.GetCustomAttributes());
        }

        // Explicit interface implementations name the interface member they implement.
        foreach (var implementationHandle in type.GetMethodImplementations())
        {
            AddMember(_metadata.GetMethodImplementation(implementationHandle).MethodDeclaration);
        }
    }

    /// <summary>Called by the signature decoder for every named type it meets.</summary>
    internal TypeName Record(TypeName type)
    {
        _current.Types.Add(type);
        return type;
    }

    internal TypeName NameOf(TypeDefinitionHandle handle)
    {
        var type = _metadata.GetTypeDefinition(handle);
        while (type.IsNested)
        {
            type = _metadata.GetTypeDefinition(type.GetDeclaringType());
        }

        return new TypeName(_metadata.GetString(type.Namespace), _metadata.GetString(type.Name));
    }

    internal TypeName NameOf(TypeReferenceHandle handle)
    {
        var type = _metadata.GetTypeReference(handle);
        while (type.ResolutionScope.Kind == HandleKind.TypeReference)
        {
            type = _metadata.GetTypeReference((TypeReferenceHandle)type.ResolutionScope);
        }

        return new TypeName(_metadata.GetString(type.Namespace), _metadata.GetString(type.Name));
    }

    private void WalkMethod(MethodDefinition method)
    {
        method.DecodeSignature(_signatures, null);
        AddGenericParameters(method.GetGenericParameters());
        AddAttributes(method.GetCustomAttributes());
        foreach (var parameterHandle in method.GetParameters())
        {
            AddAttributes(_metadata.GetParameter(parameterHandle).GetCustomAttributes());
        }

        if (method.RelativeVirtualAddress == 0)
        {
            return;
        }

        var body = _peReader.GetMethodBody(method.RelativeVirtualAddress);
        if (!body.LocalSignature.IsNil)
        {
            _metadata.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(_signatures, null);
        }

        foreach (var region in body.ExceptionRegions)
        {
            AddType(region.CatchType);
        }

        WalkIl(body.GetILReader());
    }

    private void WalkIl(BlobReader il)
    {
        while (il.RemainingBytes > 0)
        {
            ushort opCode = il.ReadByte();
            if (opCode == 0xFE)
            {
                opCode = (ushort)(0xFE00 | il.ReadByte());
            }

            switch (OperandTypes[opCode])
            {
                case OperandType.InlineField:
                case OperandType.InlineMethod:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                case OperandType.InlineSig:
                    AddMember(MetadataTokens.EntityHandle(il.ReadInt32()));
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    il.Offset += 1;
                    break;
                case OperandType.InlineVar:
                    il.Offset += 2;
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    il.Offset += 8;
                    break;
                case OperandType.InlineSwitch:
                    il.Offset += 4 * il.ReadInt32();
                    break;
                default:
                    // InlineBrTarget, InlineI, ShortInlineR, InlineString: four bytes that name no type.
                    il.Offset += 4;
                    break;
            }
        }
    }

    /// <summary>Adds what a token names: a type, a field, a method, a generic method instance or a call site signature.</summary>
    private void AddMember(EntityHandle handle)
    {
        switch (handle.Kind)
        {
            case HandleKind.TypeDefinition:
            case HandleKind.TypeReference:
            case HandleKind.TypeSpecification:
                AddType(handle);
                break;
            case HandleKind.MethodDefinition:
                {
                    var method = _metadata.GetMethodDefinition((MethodDefinitionHandle)handle);
                    var declaringType = Record(NameOf(method.GetDeclaringType()));
                    _current.Members.Add(new MemberName(declaringType, _metadata.GetString(method.Name)));
                    method.DecodeSignature(_signatures, null);
                    break;
                }
            case HandleKind.FieldDefinition:
                {
                    var field = _metadata.GetFieldDefinition((FieldDefinitionHandle)handle);
                    var declaringType = Record(NameOf(field.GetDeclaringType()));
                    _current.Members.Add(new MemberName(declaringType, _metadata.GetString(field.Name)));
                    field.DecodeSignature(_signatures, null);
                    break;
                }
            case HandleKind.MemberReference:
                AddMemberReference(_metadata.GetMemberReference((MemberReferenceHandle)handle));
                break;
            case HandleKind.MethodSpecification:
                {
                    var specification = _metadata.GetMethodSpecification((MethodSpecificationHandle)handle);
                    AddMember(specification.Method);
                    specification.DecodeSignature(_signatures, null);
                    break;
                }
            case HandleKind.StandaloneSignature:
                _metadata.GetStandaloneSignature((StandaloneSignatureHandle)handle).DecodeMethodSignature(_signatures, null);
                break;
        }
    }

    private void AddMemberReference(MemberReference reference)
    {
        var parent = reference.Parent;
        if (parent.Kind == HandleKind.MethodDefinition)
        {
            // A vararg call site: the method is defined here.
            AddMember((MethodDefinitionHandle)parent);
        }
        else if (parent.Kind is HandleKind.TypeDefinition or HandleKind.TypeReference or HandleKind.TypeSpecification)
        {
            var declaringType = AddType(parent);
            _current.Members.Add(new MemberName(declaringType, _metadata.GetString(reference.Name)));
        }

        if (reference.GetKind() == MemberReferenceKind.Method)
        {
            reference.DecodeMethodSignature(_signatures, null);
        }
        else
        {
            reference.DecodeFieldSignature(_signatures, null);
        }
    }

    /// <summary>Adds a type and, for a generic instance, its arguments; returns the (generic) type's name.</summary>
    private TypeName AddType(EntityHandle handle) => handle.IsNil ? default : handle.Kind switch
    {
        HandleKind.TypeDefinition => Record(NameOf((TypeDefinitionHandle)handle)),
        HandleKind.TypeReference => Record(NameOf((TypeReferenceHandle)handle)),
        HandleKind.TypeSpecification => _metadata.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(_signatures, null),
        _ => default,
    };

    private void AddGenericParameters(GenericParameterHandleCollection parameters)
    {
        foreach (var parameterHandle in parameters)
        {
            var parameter = _metadata.GetGenericParameter(parameterHandle);
            foreach (var constraintHandle in parameter.GetConstraints())
            {
                AddType(_metadata.GetGenericParameterConstraint(constraintHandle).Type);
            }

            AddAttributes(parameter.GetCustomAttributes());
        }
    }

    // The attribute's type, through its constructor. Arguments that are types (typeof) are stored as
    // strings and not decoded: no rule here is about attributes naming layers.
    private void AddAttributes(CustomAttributeHandleCollection attributes)
    {
        foreach (var attributeHandle in attributes)
        {
            AddMember(_metadata.GetCustomAttribute(attributeHandle).Constructor);
        }
    }

    /// <summary>Decodes signatures, recording every named type in them (generic arguments and modifiers too).</summary>
    private sealed class TypeCollector(DependencyWalker walker) : ISignatureTypeProvider<TypeName, object?>
    {
        public TypeName GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => walker.Record(walker.NameOf(handle));

        public TypeName GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => walker.Record(walker.NameOf(handle));

        public TypeName GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);

        public TypeName GetGenericInstantiation(TypeName genericType, ImmutableArray<TypeName> typeArguments) => genericType;

        public TypeName GetPrimitiveType(PrimitiveTypeCode typeCode) => new("System", typeCode.ToString());

        public TypeName GetSZArrayType(TypeName elementType) => elementType;

        public TypeName GetArrayType(TypeName elementType, ArrayShape shape) => elementType;

        public TypeName GetByReferenceType(TypeName elementType) => elementType;

        public TypeName GetPointerType(TypeName elementType) => elementType;

        public TypeName GetPinnedType(TypeName elementType) => elementType;

        public TypeName GetModifiedType(TypeName modifier, TypeName unmodifiedType, bool isRequired) => unmodifiedType;

        public TypeName GetFunctionPointerType(MethodSignature<TypeName> signature) => signature.ReturnType;

        public TypeName GetGenericMethodParameter(object? genericContext, int index) => new("", $"!!{index}");

        public TypeName GetGenericTypeParameter(object? genericContext, int index) => new("", $"!{index}");
    }
}
