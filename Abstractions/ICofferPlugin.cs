using Microsoft.Extensions.DependencyInjection;

namespace Coffer.Abstractions;

/// <summary>
/// The entry point of a plugin assembly: exactly one public, non-abstract class with a public
/// parameterless constructor implements it. The host calls <see cref="ConfigureServices"/> once, with
/// the collection every plugin registers into.
/// </summary>
public interface ICofferPlugin
{
    /// <summary>Registers the plugin's connector factories (and anything they need).</summary>
    /// <param name="services">The host's service collection.</param>
    void ConfigureServices(IServiceCollection services);
}

/// <summary>Registration helpers for plugins.</summary>
public static class CofferServiceCollectionExtensions
{
    /// <summary>Registers a connector factory as a singleton <see cref="IConnectorFactory"/>.</summary>
    /// <typeparam name="TFactory">The factory type.</typeparam>
    /// <param name="services">The host's service collection.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddConnectorFactory<TFactory>(this IServiceCollection services)
        where TFactory : class, IConnectorFactory
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddSingleton<IConnectorFactory, TFactory>();
    }
}
