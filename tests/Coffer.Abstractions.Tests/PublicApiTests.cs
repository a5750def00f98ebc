using Coffer.Abstractions;
using Coffer.TestSupport;
using PublicApiGenerator;

namespace Coffer.Abstractions.Tests;

// The contracts' public API is checked in, one listing per ABI version (Abstractions/PublicAPI/<major.minor>.txt).
// Changing the API without bumping CofferAbiVersion fails the first test; a minor bump that removes or
// changes anything fails the second, because a minor version may only add.
public class PublicApiTests
{
    private static string ListingDirectory => Path.Combine(RepositoryPaths.Root, "Abstractions", "PublicAPI");

    private static string CurrentApi() =>
        typeof(ICofferPlugin).Assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false }).ReplaceLineEndings("\n");

    [Test]
    public void The_public_api_equals_the_listing_of_the_current_abi()
    {
        var listing = Path.Combine(ListingDirectory, $"{CofferAbi.Current}.txt");
        if (Environment.GetEnvironmentVariable("COFFER_WRITE_API_LISTING") == "1" && !File.Exists(listing))
        {
            // How a new ABI's listing is made (docs/abi.md); an existing listing is never overwritten.
            File.WriteAllText(listing, CurrentApi());
        }

        Assert.That(File.Exists(listing), Is.True,
            $"no API listing for ABI {CofferAbi.Current}: write the generated API to {listing} (see docs/abi.md)");
        Assert.That(CurrentApi(), Is.EqualTo(File.ReadAllText(listing).ReplaceLineEndings("\n")),
            "the public API changed: bump CofferAbiVersion in Directory.Build.props and add a listing (see docs/abi.md)");
    }

    [Test]
    public void Every_older_minor_listing_of_this_major_is_contained_in_the_current_api()
    {
        var current = CurrentApi().Split('\n').ToHashSet(StringComparer.Ordinal);
        var older = Directory.GetFiles(ListingDirectory, $"{CofferAbi.Current.Major}.*.txt")
            .Where(f => Version.Parse(Path.GetFileNameWithoutExtension(f)) < CofferAbi.Current)
            .ToList();

        foreach (var file in older)
        {
            var removed = File.ReadAllText(file).ReplaceLineEndings("\n").Split('\n').Where(l => !current.Contains(l)).ToList();
            Assert.That(removed, Is.Empty, $"ABI {CofferAbi.Current} removes or changes members of {Path.GetFileName(file)}: that needs a new major version");
        }
    }

    [Test]
    public void The_abi_is_the_contracts_assembly_major_and_minor()
    {
        var version = typeof(CofferAbi).Assembly.GetName().Version!;
        Assert.That(CofferAbi.Current, Is.EqualTo(new Version(version.Major, version.Minor)));
    }
}
