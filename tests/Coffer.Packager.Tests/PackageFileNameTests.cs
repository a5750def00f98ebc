namespace Coffer.Packager.Tests;

public class PackageFileNameTests
{
    [TestCase("azblob_v1.0.0_linux_amd64.ptar", "azblob", "1.0.0", "linux", "amd64")]
    [TestCase("/some/dir/my-conn_v2.1.0-rc.1+b.5_any_any.ptar", "my-conn", "2.1.0-rc.1+b.5", "any", "any")]
    public void A_well_formed_name_splits_into_its_parts(string path, string name, string version, string os, string arch)
    {
        Assert.That(PackageFileName.TryParse(path, out var parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(new PackageFileName(name, version, os, arch)));
        Assert.That(parsed!.ToString(), Is.EqualTo(Path.GetFileName(path)));
    }

    [TestCase("azblob.ptar")]
    [TestCase("azblob_1.0.0_linux_amd64.ptar")]
    [TestCase("azblob_v1.0.0_linux_amd64.tar.gz")]
    [TestCase("azblob_v1.0.0_linux_amd64_extra.ptar")]
    [TestCase("azblob_v_linux_amd64.ptar")]
    [TestCase("_v1.0.0_linux_amd64.ptar")]
    public void A_malformed_name_does_not_parse(string path) =>
        Assert.That(PackageFileName.TryParse(path, out _), Is.False);
}
