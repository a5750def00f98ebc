using Coffer.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace Coffer.TestPlugins;

// A plugin whose entry point throws while registering: the host must name it and go on.
public sealed class ThrowingPlugin : ICofferPlugin
{
    public void ConfigureServices(IServiceCollection services) =>
        throw new InvalidOperationException("the throwing test plugin refuses to register");
}
