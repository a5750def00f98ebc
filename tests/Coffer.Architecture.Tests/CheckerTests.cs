using Coffer.Architecture.Tests.Checking;

namespace Coffer.Architecture.Tests;

/// <summary>
/// The checker finds violations: it is run on this test assembly, whose Violations/ folder breaks the rules
/// on purpose, in the places a reader of signatures alone would miss (a lambda, an async method's state machine).
/// </summary>
public class CheckerTests
{
    private static readonly string ThisAssembly = typeof(CheckerTests).Assembly.Location;

    private static readonly TypeName StorageConnector = new("Coffer.Abstractions", "IStorageConnector");

    [Test]
    public void Layer_rule_reports_uses_from_closures_and_state_machines_as_their_declaring_type()
    {
        var violations = ArchitectureChecker.Check(ThisAssembly, new LayerRule("Coffer.Engine.Core", "Coffer.Engine.Repository", "Coffer.Engine.Operations"));

        Assert.That(violations, Is.EqualTo(new[]
        {
            "Coffer.Engine.Core.Fake.FakeCoreWithAsync -> Coffer.Engine.Operations.Fake.FakeOperationResult",
            "Coffer.Engine.Core.Fake.FakeCoreWithLambda -> Coffer.Engine.Operations.Fake.FakeOperation",
        }));
    }

    [Test]
    public void Layer_rule_allows_a_layer_to_use_the_layers_below_it()
    {
        var violations = ArchitectureChecker.Check(ThisAssembly, new LayerRule("Coffer.Engine.Operations", "Coffer.Engine.Core"));

        Assert.That(violations, Is.Empty);
    }

    [Test]
    public void Restricted_type_rule_reports_members_called_and_types_held_outside_the_owning_namespace()
    {
        var violations = ArchitectureChecker.Check(ThisAssembly, new RestrictedTypeRule(StorageConnector, ["Coffer.Engine.Repository"], []));

        Assert.That(violations, Is.EqualTo(new[]
        {
            "Coffer.Engine.Core.Fake.FakeCoreDescribingStorage -> Coffer.Abstractions.IStorageConnector::get_Description",
            "Coffer.Engine.Core.Fake.FakeCorePassingStorage -> Coffer.Abstractions.IStorageConnector",
            "Coffer.Engine.Operations.Fake.FakeStorageUser -> Coffer.Abstractions.IStorageConnector::ListAsync",
        }));
    }

    [Test]
    public void Restricted_type_rule_lets_an_allowed_type_hold_the_type_and_use_only_the_listed_members()
    {
        var violations = ArchitectureChecker.Check(
            ThisAssembly,
            new RestrictedTypeRule(
                StorageConnector,
                ["Coffer.Engine.Repository"],
                [
                    new("Coffer.Engine.Core.Fake.FakeCorePassingStorage"),
                    new("Coffer.Engine.Core.Fake.FakeCoreDescribingStorage"),
                    new("Coffer.Engine.Operations.Fake.FakeStorageUser", "get_Description"),
                ]));

        Assert.That(violations, Is.EqualTo(new[]
        {
            "Coffer.Engine.Core.Fake.FakeCoreDescribingStorage -> Coffer.Abstractions.IStorageConnector::get_Description",
            "Coffer.Engine.Operations.Fake.FakeStorageUser -> Coffer.Abstractions.IStorageConnector::ListAsync",
        }));
    }

    [Test]
    public void Assembly_rule_reports_a_forbidden_reference()
    {
        var violations = ArchitectureChecker.Check(ThisAssembly, new ForbiddenAssemblyReferences("Coffer.Abstractions", "Spectre.Console"));

        Assert.That(violations, Is.EqualTo(new[] { "Coffer.Architecture.Tests -> assembly Coffer.Abstractions" }));
    }

    [Test]
    public void Walker_sees_what_a_product_method_body_calls()
    {
        var engine = AssemblyDependencies.Read(Path.Combine(AppContext.BaseDirectory, "Coffer.Engine.dll"));

        var store = engine.Types[new TypeName("Coffer.Engine.Repository", "CofferStore")];

        // The store lists packs through its connector inside an async iterator: only the IL of the iterator's
        // state machine says so, and it counts for CofferStore.
        Assert.That(store.Members, Does.Contain(new MemberName(StorageConnector, "ListAsync")));
    }
}
