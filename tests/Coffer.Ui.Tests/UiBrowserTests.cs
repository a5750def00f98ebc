using System.IO.Compression;
using System.Net;
using Coffer.TestSupport;
using OpenQA.Selenium;

namespace Coffer.Ui.Tests;

/// <summary>
/// <c>coffer ui</c> in a real headless chromium: every page, clicked through as a user would, on a store
/// with two snapshots (UiFixture). Each page's screenshot is written for docs/ui.md.
/// </summary>
[NonParallelizable]
public class UiBrowserTests
{
    private static IWebDriver Browser => UiFixture.Browser;

    [Test]
    public void Snapshots_page_lists_both_snapshots_filters_by_tag_and_shows_the_calendar()
    {
        Browser.Navigate().GoToUrl(UiFixture.Url("/"));
        var rows = Browser.FindElements(By.CssSelector("#snapshots tbody tr"));
        Assert.That(rows, Has.Count.EqualTo(2));
        Assert.That(rows[0].Text, Does.Contain(UiFixture.SecondSnapshot).And.Contain("second").And.Contain(UiFixture.Source));
        Assert.That(Browser.FindElement(By.Id("calendar")).Text, Does.Contain(DateTime.UtcNow.ToString("yyyy-MM")).And.Contain("2"));
        Shoot("snapshots");

        var tag = Browser.FindElement(By.Name("tag"));
        tag.SendKeys("first");
        tag.Submit();
        rows = Browser.FindElements(By.CssSelector("#snapshots tbody tr"));
        Assert.That(rows, Has.Count.EqualTo(1));
        Assert.That(rows[0].Text, Does.Contain(UiFixture.FirstSnapshot));

        Browser.Navigate().GoToUrl(UiFixture.Url("/?host=no-such-host"));
        Assert.That(Browser.FindElement(By.TagName("main")).Text, Does.Contain("No snapshot matches --host no-such-host"));
    }

    [Test]
    public async Task Browse_clicks_into_a_directory_previews_and_downloads_a_file()
    {
        Browser.Navigate().GoToUrl(UiFixture.Url("/"));
        Browser.FindElement(By.LinkText(UiFixture.SecondSnapshot)).Click();
        Assert.That(Browser.FindElement(By.Id("entries")).Text, Does.Contain("added.txt").And.Contain("docs").And.Not.Contain("run.sh"));
        Shoot("browse");

        Browser.FindElement(By.LinkText("docs")).Click();
        Assert.That(Browser.FindElement(By.Id("breadcrumbs")).Text, Is.EqualTo($"{UiFixture.SecondSnapshot} / docs"));
        Assert.That(Browser.FindElement(By.Id("entries")).Text, Does.Contain("text.log").And.Contain("rw-------").And.Contain("deep"));
        Browser.FindElement(By.LinkText("text.log")).Click();
        var preview = Browser.FindElement(By.Id("preview-text")).Text;
        Assert.That(preview, Does.StartWith("a fairly compressible line of log text"));
        Assert.That(Browser.FindElement(By.TagName("main")).Text, Does.Contain("The first 64.0 KiB of 1.9 MiB"));
        Shoot("file");

        // The download through the browser, compared byte for byte with the source.
        Browser.FindElement(By.Id("download")).Click();
        var downloaded = Path.Combine(UiFixture.Downloads, "text.log");
        await WaitForAsync(() => File.Exists(downloaded) && new FileInfo(downloaded).Length == new FileInfo(Path.Combine(UiFixture.Source, "docs", "text.log")).Length, "the download of text.log");
        Assert.That(File.ReadAllBytes(downloaded), SameBytes.As(File.ReadAllBytes(Path.Combine(UiFixture.Source, "docs", "text.log"))));

        Browser.Navigate().GoToUrl(UiFixture.Url($"/browse?snapshot={UiFixture.SecondSnapshot}&path=pixel.png"));
        var image = Browser.FindElement(By.Id("preview-image"));
        Assert.That((long)((IJavaScriptExecutor)Browser).ExecuteScript("return arguments[0].naturalWidth", image)!, Is.EqualTo(1), "the image preview loaded");
    }

    [Test]
    public void A_directory_of_many_entries_pages()
    {
        Browser.Navigate().GoToUrl(UiFixture.Url($"/browse?snapshot={UiFixture.SecondSnapshot}&path=many"));
        Assert.That(Browser.FindElements(By.CssSelector("#entries tbody tr")), Has.Count.EqualTo(500));
        Assert.That(Browser.FindElement(By.Id("pager")).Text, Does.StartWith("Entries 1–500 of 1200 (page 1 of 3)"));
        Browser.FindElement(By.Id("pager")).FindElement(By.LinkText("last")).Click();
        var rows = Browser.FindElements(By.CssSelector("#entries tbody tr"));
        Assert.That(rows, Has.Count.EqualTo(200));
        Assert.That(rows[^1].Text, Does.StartWith("📄 f1199.txt"));
    }

    [Test]
    public async Task A_directory_downloads_as_zip_and_tar_with_the_source_content()
    {
        using var client = UiFixture.AuthorizedClient();
        var zipBytes = await client.GetByteArrayAsync($"/archive?snapshot={UiFixture.SecondSnapshot}&path=docs&format=zip");
        using (var zip = new ZipArchive(new MemoryStream(zipBytes)))
        {
            var entry = zip.GetEntry("deep/er/random.bin")!;
            using var content = new MemoryStream();
            await using (var stream = await entry.OpenAsync())
            {
                await stream.CopyToAsync(content);
            }

            Assert.That(content.ToArray(), SameBytes.As(File.ReadAllBytes(Path.Combine(UiFixture.Source, "docs", "deep", "er", "random.bin"))));
        }

        using var tar = await client.GetAsync($"/archive?snapshot={UiFixture.SecondSnapshot}&format=tar");
        Assert.That(tar.Content.Headers.ContentDisposition?.FileNameStar ?? tar.Content.Headers.ContentDisposition?.FileName, Does.Contain($"snapshot-{UiFixture.SecondSnapshot}.tar"));
        var names = new List<string>();
        using (var reader = new System.Formats.Tar.TarReader(await tar.Content.ReadAsStreamAsync()))
        {
            while (await reader.GetNextEntryAsync() is { } entry)
            {
                names.Add(entry.Name);
            }
        }

        Assert.That(names, Does.Contain("added.txt").And.Contain("docs/text.log").And.Contain("many/f0000.txt").And.Not.Contain("run.sh"));
    }

    [Test]
    public void Search_finds_entries_by_name_and_by_whole_path()
    {
        Browser.Navigate().GoToUrl(UiFixture.Url("/search"));
        Browser.FindElement(By.Id("q")).SendKeys("*.sh");
        Browser.FindElement(By.Id("q")).Submit();
        var rows = Browser.FindElements(By.CssSelector("#matches tbody tr"));
        Assert.That(rows.Select(r => r.Text), Has.Exactly(1).Contains("run.sh"), "run.sh is only in the first snapshot");
        Assert.That(rows[0].Text, Does.Contain(UiFixture.FirstSnapshot));
        Shoot("search");

        Browser.Navigate().GoToUrl(UiFixture.Url($"/search?q=docs/**/*.bin&wholepath=1&snapshot={UiFixture.SecondSnapshot}"));
        Assert.That(Browser.FindElements(By.CssSelector("#matches tbody tr")).Select(r => r.Text), Has.Exactly(1).Contains("docs/deep/er/random.bin"));
        Browser.FindElement(By.LinkText("docs/deep/er/random.bin")).Click();
        Assert.That(Browser.FindElement(By.Id("breadcrumbs")).Text, Is.EqualTo($"{UiFixture.SecondSnapshot} / docs / deep / er / random.bin"));
    }

    [Test]
    public async Task Compare_shows_the_added_removed_and_modified_entries_as_a_tree()
    {
        Browser.Navigate().GoToUrl(UiFixture.Url("/compare"));
        Browser.FindElement(By.CssSelector("#compare button")).Click();

        // A form's submit returns before the next page has loaded (a link's click does not).
        await WaitForAsync(() => Browser.FindElements(By.Id("diff-summary")).Count > 0, "the comparison");
        Assert.That(Browser.FindElement(By.Id("diff-summary")).Text, Does.Contain("2 added, 1 removed, 1 modified"));
        var tree = Browser.FindElement(By.Id("diff"));
        Assert.That(tree.FindElement(By.CssSelector(".added")).Text, Is.EqualTo("+ added.txt"));
        Assert.That(tree.FindElement(By.CssSelector(".removed")).Text, Is.EqualTo("− run.sh"));
        Assert.That(tree.FindElement(By.CssSelector(".modified")).Text, Is.EqualTo("M readme.txt"));
        Assert.That(tree.Text, Does.Contain("(content, mtime)"));
        Assert.That(tree.FindElement(By.CssSelector("details details details .added")).Text, Is.EqualTo("+ note.txt"), "docs/deep/er/note.txt sits three directories down");
        Shoot("compare");
    }

    [Test]
    public async Task Restore_of_a_directory_from_the_page_equals_the_source()
    {
        var target = UiFixture.Root.Combine("restored-docs");
        Browser.Navigate().GoToUrl(UiFixture.Url($"/browse?snapshot={UiFixture.SecondSnapshot}&path=docs"));
        Browser.FindElement(By.Id("restore")).Click();
        Assert.That(Browser.FindElement(By.Id("path")).GetAttribute("value"), Is.EqualTo("docs"));
        Browser.FindElement(By.Id("to")).SendKeys(target);
        Shoot("restore");
        Browser.FindElement(By.Id("to")).Submit();
        var outcome = await WaitForOutcomeAsync();
        Assert.That(outcome.GetAttribute("id"), Is.EqualTo("job-done"), outcome.Text);
        Assert.That(outcome.Text, Does.StartWith("restored 4 files"));
        Shoot("restore-done");
        TreeAssert.AreEqual(Path.Combine(UiFixture.Source, "docs"), target);

        // A path outside the snapshot cannot be named, and a bad destination fails in one line.
        Browser.Navigate().GoToUrl(UiFixture.Url($"/restore?snapshot={UiFixture.SecondSnapshot}&path=../../etc"));
        Assert.That(Browser.FindElement(By.CssSelector("p.error")).Text, Does.StartWith("the path '../../etc' steps outside the snapshot"));
        Browser.Navigate().GoToUrl(UiFixture.Url($"/restore?snapshot={UiFixture.SecondSnapshot}"));
        Browser.FindElement(By.Id("to")).SendKeys("@no-such-destination");
        Browser.FindElement(By.Id("to")).Submit();
        outcome = await WaitForOutcomeAsync();
        Assert.That(outcome.GetAttribute("id"), Is.EqualTo("job-failed"));
        Assert.That(outcome.Text, Does.Contain("no-such-destination").And.Not.Contain("\n"));
    }

    [Test]
    public async Task Health_shows_the_store_and_runs_a_fast_and_a_full_check()
    {
        Browser.Navigate().GoToUrl(UiFixture.Url("/health"));
        Assert.That(Browser.FindElement(By.Id("info")).Text, Does.Contain("Snapshots 2").And.Contain("aes-256-gcm"));
        Shoot("health");
        Browser.FindElement(By.CssSelector("#check button")).Click();
        var outcome = await WaitForOutcomeAsync();
        Assert.That(outcome.Text, Does.StartWith("check ok: 2 snapshots"), outcome.Text);

        Browser.Navigate().GoToUrl(UiFixture.Url("/health"));
        Browser.FindElement(By.CssSelector("input[value=full]")).Click();
        Browser.FindElement(By.CssSelector("#check button")).Click();
        outcome = await WaitForOutcomeAsync();
        Assert.That(outcome.Text, Does.StartWith("check ok: 2 snapshots").And.Contain("blobs verified"), outcome.Text);
        Shoot("check-done");
    }

    [Test]
    public async Task Requests_without_the_token_and_forged_posts_are_refused()
    {
        using (var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = UiFixture.BaseUrl })
        {
            Assert.That((await anonymous.GetAsync("/")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That((await anonymous.GetAsync($"/raw?snapshot={UiFixture.SecondSnapshot}&path=readme.txt")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That((await anonymous.GetAsync("/?token=0123456789abcdef")).StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            var wrongCookie = new HttpRequestMessage(HttpMethod.Get, "/");
            wrongCookie.Headers.Add("Cookie", $"coffer_ui_{UiFixture.BaseUrl.Port}=not-the-token");
            Assert.That((await anonymous.SendAsync(wrongCookie)).StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));

            // The printed URL sets the cookie and takes the token out of the address.
            var first = await anonymous.GetAsync(UiFixture.StartUrl.PathAndQuery);
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(first.Headers.Location?.ToString(), Is.EqualTo("/"));
            Assert.That(string.Join(";", first.Headers.GetValues("Set-Cookie")), Does.Contain("httponly").IgnoreCase.And.Contain("samesite=strict").IgnoreCase);
        }

        // With the access cookie but without (or with a wrong) anti-forgery token, a POST changes nothing.
        var target = UiFixture.Root.Combine("forged-restore");
        using var client = UiFixture.AuthorizedClient();
        var fields = new Dictionary<string, string> { ["snapshot"] = UiFixture.SecondSnapshot, ["path"] = "docs", ["to"] = target };
        var forged = await client.PostAsync("/restore", new FormUrlEncodedContent(fields));
        Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await forged.Content.ReadAsStringAsync(), Does.Contain("anti-forgery token is missing or wrong"));
        fields["__RequestVerificationToken"] = "CfDJ8forged";
        Assert.That((await client.PostAsync("/restore", new FormUrlEncodedContent(fields))).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await client.PostAsync("/check", new FormUrlEncodedContent(new Dictionary<string, string> { ["mode"] = "fast" }))).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(Directory.Exists(target), Is.False, "a forged restore wrote nothing");
    }

    [Test]
    public void No_page_or_log_shows_the_passphrase_or_the_token_after_start()
    {
        foreach (var page in new[] { "/", "/search?q=*", "/compare?a=" + UiFixture.FirstSnapshot + "&b=" + UiFixture.SecondSnapshot, "/restore", "/health", $"/browse?snapshot={UiFixture.SecondSnapshot}" })
        {
            Browser.Navigate().GoToUrl(UiFixture.Url(page));
            Assert.That(Browser.PageSource, Does.Not.Contain(UiFixture.Passphrase).And.Not.Contain(UiFixture.StartUrl.Query[7..]), page);
        }

        Assert.That(UiFixture.ServerLog, Does.Not.Contain(UiFixture.Passphrase));
        Assert.That(UiFixture.ServerLog.Split(UiFixture.StartUrl.Query[7..]).Length - 1, Is.EqualTo(1), "the token is printed once, in the start URL");
    }

    private static async Task<IWebElement> WaitForOutcomeAsync()
    {
        IWebElement? outcome = null;
        await WaitForAsync(() => (outcome = Browser.FindElements(By.CssSelector("#job-done, #job-failed")).FirstOrDefault()) is not null, "the job's outcome");
        return outcome!;
    }

    // Waits for something the browser does in its own time (a download, a job's page refreshing); never a timing assertion.
    private static async Task WaitForAsync(Func<bool> done, string what)
    {
        for (var waited = 0; waited < 1200; waited++)
        {
            if (done())
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"gave up waiting for {what}");
    }

    // For docs/ui.md: into the test's work directory, and into docs/ui when COFFER_UI_SCREENSHOTS names that folder.
    private static void Shoot(string name)
    {
        var shot = ((ITakesScreenshot)Browser).GetScreenshot();
        var folders = new[] { Path.Combine(TestContext.CurrentContext.WorkDirectory, "ui-screenshots"), Environment.GetEnvironmentVariable("COFFER_UI_SCREENSHOTS") };
        foreach (var folder in folders.Where(f => !string.IsNullOrEmpty(f)))
        {
            Directory.CreateDirectory(folder!);
            shot.SaveAsFile(Path.Combine(folder!, name + ".png"));
        }
    }
}
