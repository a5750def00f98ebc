using Coffer.Architecture.Tests.Checking;

namespace Coffer.Architecture.Tests;

/// <summary>
/// The dependency rules of docs/architecture.md, checked on the built assemblies (their metadata and IL,
/// so a rule also sees what a method body calls, not only what a signature says).
/// </summary>
public class ProductArchitectureTests
{
    private const string Executable = "coffer";
    private const string Engine = "Coffer.Engine";
    private const string Keep = "Coffer.Keep";
    private const string Ui = "Coffer.Ui";
    private const string Connectors = "Coffer.Connectors";
    private const string Plumbing = "Coffer.Plumbing";

    private const string EngineCore = "Coffer.Engine.Core";
    private const string EngineRepository = "Coffer.Engine.Repository";
    private const string EngineOperations = "Coffer.Engine.Operations";

    private static readonly TypeName StorageConnector = new("Coffer.Abstractions", "IStorageConnector");

    /// <summary>
    /// The command line types that may hold an <c>IStorageConnector</c> outside the repository, and what of
    /// it they may use. Resolving the user's store reference (a path, a location, <c>@name</c>, a portable
    /// file) into a connector and handing it to <c>CofferStore.CreateAsync</c>/<c>OpenAsync</c> is the
    /// command line's job, so <c>StoreReferences</c> (resolves, creates and opens) may hold and pass one. It
    /// may read its <c>Description</c> (a display string naming the location, no I/O) for the messages given
    /// before a store is open. Any other member (Open/Get/Put/List/Delete, Mode) is store work and
    /// belongs in the repository.
    /// </summary>
    private static readonly RestrictedTypeAllowance[] CommandLineStorageAllowances =
    [
        new("Coffer.Cli.StoreReferences", "get_Description"),
    ];

    /// <summary>
    /// <c>ConnectorCatalog</c> is where connectors come from: it creates an <c>IStorageConnector</c> from a
    /// plugin's factory and returns it, without using it.
    /// </summary>
    private static readonly RestrictedTypeAllowance[] ConnectorsStorageAllowances =
    [
        new("Coffer.Connectors.ConnectorCatalog"),
        // --limit-upload/--limit-download: a decorator that forwards every call, pacing the streams.
        new("Coffer.Connectors.TransferLimits", "get_Description", "get_Mode", "CreateAsync", "OpenAsync", "PutAsync", "GetAsync", "DeleteAsync", "ListAsync"),
    ];

    private static string AssemblyPath(string assemblyName) => Path.Combine(AppContext.BaseDirectory, $"{assemblyName}.dll");

    private static void AssertNoViolations(string assemblyName, params IArchitectureRule[] rules)
    {
        var violations = ArchitectureChecker.Check(AssemblyPath(assemblyName), rules);
        Assert.That(
            violations,
            Is.Empty,
            () => $"{assemblyName} breaks the architecture (docs/architecture.md) in {violations.Count} place(s), user -> used:{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", violations));
    }

    [TestCase(Engine)]
    [TestCase(Keep)]
    [TestCase(Connectors)]
    [TestCase(Ui)]
    public void Libraries_do_not_reference_the_command_line(string library) =>
        AssertNoViolations(library, new ForbiddenAssemblyReferences(Executable, "System.CommandLine", "Spectre.Console"));

    [Test]
    public void Plumbing_references_no_other_coffer_assembly() =>
        AssertNoViolations(Plumbing, new ForbiddenAssemblyReferences("Coffer.Abstractions", Executable, Engine, Keep, Connectors, "Coffer.Packager"));

    [Test]
    public void Engine_does_not_reference_Keep() => AssertNoViolations(Engine, new ForbiddenAssemblyReferences(Keep));

    [Test]
    public void Keep_does_not_reference_the_engine() => AssertNoViolations(Keep, new ForbiddenAssemblyReferences(Engine));

    [TestCase(Engine)]
    [TestCase(Keep)]
    [TestCase(Connectors)]
    public void Nothing_below_the_command_line_references_the_web_interface(string library) =>
        AssertNoViolations(library, new ForbiddenAssemblyReferences(Ui));

    [Test]
    public void Web_interface_does_not_reference_Keep_or_the_connectors() =>
        AssertNoViolations(Ui, new ForbiddenAssemblyReferences(Keep, Connectors, "Coffer.Packager"));

    [Test]
    public void Web_interface_does_not_use_storage_connectors() =>
        AssertNoViolations(Ui, new RestrictedTypeRule(StorageConnector, [], []));

    [Test]
    public void Engine_core_uses_neither_repository_nor_operations() =>
        AssertNoViolations(Engine, new LayerRule(EngineCore, EngineRepository, EngineOperations));

    [Test]
    public void Engine_repository_does_not_use_operations() =>
        AssertNoViolations(Engine, new LayerRule(EngineRepository, EngineOperations));

    [Test]
    public void Only_the_repository_uses_storage_connectors_in_the_engine() =>
        AssertNoViolations(Engine, new RestrictedTypeRule(StorageConnector, [EngineRepository], []));

    [Test]
    public void Keep_does_not_use_storage_connectors() =>
        AssertNoViolations(Keep, new RestrictedTypeRule(StorageConnector, [], []));

    [Test]
    public void Connectors_only_create_storage_connectors() =>
        AssertNoViolations(Connectors, new RestrictedTypeRule(StorageConnector, [], ConnectorsStorageAllowances));

    [Test]
    public void Command_line_only_passes_storage_connectors_to_the_repository() =>
        AssertNoViolations(Executable, new RestrictedTypeRule(StorageConnector, [], CommandLineStorageAllowances));
}
