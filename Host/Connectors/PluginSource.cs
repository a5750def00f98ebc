namespace Coffer.Connectors;

/// <summary>A plugin to load: the package name it is reported under and its entry assembly.</summary>
/// <param name="Name">The package name, used in every message about the plugin.</param>
/// <param name="EntryAssemblyPath">The full path of the plugin's main assembly.</param>
public sealed record PluginSource(string Name, string EntryAssemblyPath);
