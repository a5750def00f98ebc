using Coffer.Engine.Core;
using Coffer.Engine.Core.Model;

namespace Coffer.Engine.Tests.Core;

public class SnapshotFilterTests
{
    private static readonly Snapshot Web = Make("1", "nas", "/srv/www", "web", "prod");
    private static readonly Snapshot Db = Make("2", "db1", "@db", "db");

    [Test]
    public void Tags_in_one_set_are_all_needed_and_sets_are_alternatives()
    {
        Assert.That(new SnapshotFilter { TagSets = [["web", "prod"]] }.Select([Web, Db]), Is.EqualTo(new[] { Web }));
        Assert.That(new SnapshotFilter { TagSets = [["web", "db"]] }.Matches(Web), Is.False);
        Assert.That(new SnapshotFilter { TagSets = [["prod"], ["db"]] }.Select([Web, Db]), Is.EqualTo(new[] { Web, Db }));
    }

    [Test]
    public void Hosts_and_sources_are_alternatives_and_every_kind_of_filter_must_pass()
    {
        Assert.That(new SnapshotFilter { Hosts = ["NAS", "other"] }.Select([Web, Db]), Is.EqualTo(new[] { Web }), "host names ignore case");
        Assert.That(new SnapshotFilter { Sources = ["@db", "/srv/www"] }.Select([Web, Db]), Is.EqualTo(new[] { Web, Db }));
        Assert.That(new SnapshotFilter { Sources = ["/srv/www"], Hosts = ["db1"] }.Matches(Web), Is.False);
        Assert.That(new SnapshotFilter().Select([Web, Db]), Is.EqualTo(new[] { Web, Db }), "no filter keeps everything");
    }

    [Test]
    public void A_filter_that_matches_nothing_is_a_refusal_naming_it()
    {
        var filter = new SnapshotFilter { TagSets = [["nightly", "x"]], Hosts = ["h"] };
        Assert.That(() => filter.Select([Web, Db]), Throws.TypeOf<SnapshotNotFoundException>().With.Message.Contains("--tag nightly,x --host h"));
    }

    private static Snapshot Make(string id, string host, string source, params string[] tags) => new()
    {
        Id = id,
        Hostname = host,
        Source = source,
        Tags = tags,
        Root = new Node { Name = "", Kind = Node.DirectoryKind },
        Summary = new SnapshotSummary(),
    };
}
