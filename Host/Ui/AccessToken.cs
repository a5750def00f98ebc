using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Coffer.Ui;

/// <summary>
/// The random token every request must carry (Jupyter's scheme): in the URL printed at start, then in an
/// HttpOnly, SameSite=Strict cookie set by that first request, so another local user, or a page of another
/// site, cannot browse the backups. Without it a request gets 401; with a wrong one 403.
/// </summary>
internal sealed class AccessToken
{
    public const string QueryName = "token";

    private readonly byte[] _token;

    public AccessToken(string value)
    {
        Value = value;
        _token = Encoding.ASCII.GetBytes(value);
    }

    public string Value { get; }

    public static AccessToken CreateRandom() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    /// <summary>The cookie's name; the port keeps two interfaces on one host (cookies ignore ports) apart.</summary>
    public static string CookieName(HttpContext context) => $"coffer_ui_{context.Connection.LocalPort}";

    public async Task CheckAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (request.Query.TryGetValue(QueryName, out var given))
        {
            if (!Matches(given.ToString()))
            {
                await RefuseAsync(context, StatusCodes.Status403Forbidden, "this access token is not the one coffer ui printed at start: open the URL it printed").ConfigureAwait(false);
                return;
            }

            context.Response.Cookies.Append(CookieName(context), Value, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", IsEssential = true });

            // The token leaves the address bar (and the history) at once.
            var rest = string.Join('&', request.Query.Where(pair => pair.Key != QueryName)
                .SelectMany(pair => pair.Value.Select(value => $"{Uri.EscapeDataString(pair.Key)}={Uri.EscapeDataString(value ?? "")}")));
            context.Response.Redirect(request.PathBase + request.Path + (rest.Length > 0 ? "?" + rest : ""));
            return;
        }

        if (!request.Cookies.TryGetValue(CookieName(context), out var cookie))
        {
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, "no access token: open the URL coffer ui printed at start (it ends in ?token=…)").ConfigureAwait(false);
            return;
        }

        if (!Matches(cookie))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, "this access token is not the one coffer ui printed at start: open the URL it printed").ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    private bool Matches(string candidate) => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(candidate), _token);

    private static Task RefuseAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n");
    }
}
