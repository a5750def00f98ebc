using System.Globalization;

namespace Coffer.Abstractions;

/// <summary>
/// Where a connector points and the <c>key=value</c> options it was given. A location is either
/// <c>scheme://rest</c> or a plain path, which means the <c>fs</c> scheme.
/// </summary>
public sealed class ConnectorConfiguration
{
    /// <summary>The scheme a plain path stands for.</summary>
    public const string FileSystemScheme = "fs";

    private readonly Dictionary<string, string> _options;

    /// <summary>Creates a configuration from a location and its options.</summary>
    /// <param name="location">A <c>scheme://…</c> location or a plain path.</param>
    /// <param name="options">The options, keyed by name (case-sensitive).</param>
    /// <param name="context">Services from the host; <see cref="ConnectorContext.Default"/> when null.</param>
    /// <exception cref="ConnectorConfigurationException">The location is empty or malformed.</exception>
    public ConnectorConfiguration(string location, IReadOnlyDictionary<string, string>? options = null, ConnectorContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(location);
        (Scheme, Path) = ParseLocation(location);
        Location = location;
        _options = options is null ? [] : new Dictionary<string, string>(options, StringComparer.Ordinal);
        Context = context ?? ConnectorContext.Default;
    }

    /// <summary>The location as given.</summary>
    public string Location { get; }

    /// <summary>The scheme, lower case; <c>fs</c> for a plain path.</summary>
    public string Scheme { get; }

    /// <summary>The part after <c>scheme://</c>, or the plain path itself.</summary>
    public string Path { get; }

    /// <summary>The options as given.</summary>
    public IReadOnlyDictionary<string, string> Options => _options;

    /// <summary>Services from the host.</summary>
    public ConnectorContext Context { get; }

    /// <summary>Splits a location into scheme and path.</summary>
    /// <param name="location">A <c>scheme://…</c> location or a plain path.</param>
    /// <returns>The lower-case scheme and the rest.</returns>
    /// <exception cref="ConnectorConfigurationException">The location is empty or its scheme is malformed.</exception>
    public static (string Scheme, string Path) ParseLocation(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.Length == 0)
        {
            throw new ConnectorConfigurationException("empty location: give a path or a scheme://… location");
        }

        var separator = location.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            return (FileSystemScheme, location);
        }

        var scheme = location[..separator];
        if (!scheme.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.') || !char.IsAsciiLetter(scheme[0]))
        {
            // Not a scheme after all (e.g. a directory named "a b://c"): treat the whole as a path.
            return (FileSystemScheme, location);
        }

        return (scheme.ToLowerInvariant(), location[(separator + 3)..]);
    }

    /// <summary>Refuses options the descriptor does not declare and required options that are missing.</summary>
    /// <param name="descriptor">The connector's declared options.</param>
    /// <exception cref="ConnectorConfigurationException">An option is unknown or a required one is absent.</exception>
    public void Validate(ConnectorDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        foreach (var key in _options.Keys)
        {
            if (!descriptor.Options.Any(o => o.Name == key))
            {
                var known = string.Join(", ", descriptor.Options.Select(o => o.Name));
                throw new ConnectorConfigurationException(
                    $"unknown option '{key}' for {descriptor.Scheme} {descriptor.Kind.ToString().ToLowerInvariant()}: known options are {(known.Length == 0 ? "none" : known)}");
            }
        }

        foreach (var option in descriptor.Options.Where(o => o.Required))
        {
            if (!_options.ContainsKey(option.Name))
            {
                throw new ConnectorConfigurationException(
                    $"missing option '{option.Name}' for {descriptor.Scheme} {descriptor.Kind.ToString().ToLowerInvariant()}: {option.Description}");
            }
        }
    }

    /// <summary>Gets an option's value, or null when it was not given.</summary>
    /// <param name="name">The option name.</param>
    /// <returns>The value or null.</returns>
    public string? GetString(string name) => _options.TryGetValue(name, out var value) ? value : null;

    /// <summary>
    /// Gets an option that must be there, such as a required key. The host validates options against the
    /// descriptor before it calls a factory, but a factory called another way (a test, a tool) then gets
    /// a clear message instead of a null. Added in ABI 1.1.
    /// </summary>
    /// <param name="name">The option name.</param>
    /// <returns>The value.</returns>
    /// <exception cref="ConnectorConfigurationException">The option was not given; the message names it, never a value.</exception>
    public string GetRequiredString(string name) =>
        GetString(name) ?? throw new ConnectorConfigurationException($"missing option '{name}' for {Location}: give it as {name}=VALUE");

    /// <summary>Gets a boolean option (<c>true</c>/<c>false</c>/<c>1</c>/<c>0</c>/<c>yes</c>/<c>no</c>).</summary>
    /// <param name="name">The option name.</param>
    /// <param name="defaultValue">The value when absent.</param>
    /// <returns>The parsed value.</returns>
    /// <exception cref="ConnectorConfigurationException">The value is not a boolean.</exception>
    public bool GetBoolean(string name, bool defaultValue = false)
    {
        var value = GetString(name);
        return value?.ToLowerInvariant() switch
        {
            null => defaultValue,
            "true" or "1" or "yes" or "on" or "" => true,
            "false" or "0" or "no" or "off" => false,
            _ => throw new ConnectorConfigurationException($"option '{name}' must be true or false, not '{value}'"),
        };
    }

    /// <summary>Gets a 64-bit integer option.</summary>
    /// <param name="name">The option name.</param>
    /// <param name="defaultValue">The value when absent.</param>
    /// <returns>The parsed value.</returns>
    /// <exception cref="ConnectorConfigurationException">The value is not an integer.</exception>
    public long GetInt64(string name, long defaultValue)
    {
        var value = GetString(name);
        if (value is null)
        {
            return defaultValue;
        }

        return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw new ConnectorConfigurationException($"option '{name}' must be a whole number, not '{value}'");
    }
}
