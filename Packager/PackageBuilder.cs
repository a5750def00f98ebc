using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Coffer.Packager.Internal;
using Coffer.Plumbing;

namespace Coffer.Packager;

/// <summary>
/// Builds a <c>.ptar</c> from a plugin project: <c>dotnet publish</c> (framework-dependent), the
/// manifest from the project's properties and the connectors its entry type registers, minus the
/// assemblies the host provides. See docs/ptar-format.md.
/// </summary>
public static class PackageBuilder
{
    private static readonly string[] Properties =
    [
        "AssemblyName", "TargetFileName", "Version", "CofferPackageName", "CofferPackageOs", "CofferPackageArch",
        "Description", "PackageLicenseExpression", "PackageProjectUrl",
    ];

    /// <summary>Publishes a plugin project and writes its package into <see cref="PackageBuildOptions.OutputDirectory"/>.</summary>
    /// <param name="project">The project directory (holding one project file) or the project file.</param>
    /// <param name="options">How to build.</param>
    /// <param name="cancellationToken">Cancels the build.</param>
    /// <returns>The full path of the written package.</returns>
    /// <exception cref="PackageException">The project cannot be built into a package; the message says why.</exception>
    public static async Task<string> BuildAsync(string project, PackageBuildOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(options);
        var projectFile = FindProjectFile(project);
        var properties = await ReadPropertiesAsync(projectFile, options, cancellationToken).ConfigureAwait(false);
        if (!properties.TryGetValue("AssemblyName", out var assemblyName) || !properties.TryGetValue("TargetFileName", out var entry))
        {
            throw new PackageException($"{projectFile} has no AssemblyName or TargetFileName: is it a .NET project?");
        }

        var name = properties.GetValueOrDefault("CofferPackageName") is { Length: > 0 } explicitName ? explicitName : NameFrom(assemblyName);
        if (!PackageManifest.IsValidName(name))
        {
            throw new PackageException($"{projectFile}: package name '{name}' is not valid (lower-case letters, digits and '-', at most 64): set <CofferPackageName> in the project");
        }

        var version = properties.GetValueOrDefault("Version") ?? "";
        if (!PackageManifest.IsValidVersion(version))
        {
            throw new PackageException($"{projectFile}: version '{version}' is not a semantic version: set <Version> to MAJOR.MINOR.PATCH");
        }

        var work = Path.Combine(Path.GetTempPath(), $"coffer-pkg-build-{Guid.NewGuid():N}");
        try
        {
            // Portable first: a plugin without native code runs anywhere .NET does, and is marked any/any.
            var publish = Path.Combine(work, "publish");
            await PublishAsync(projectFile, publish, null, options, cancellationToken).ConfigureAwait(false);
            var (os, arch) = (PackagePlatform.Any, PackagePlatform.Any);
            if (HasNativeCode(publish))
            {
                // Native code ties the package to one platform: publish again for this machine's only.
                publish = Path.Combine(work, "publish-rid");
                await PublishAsync(projectFile, publish, RuntimeInformation.RuntimeIdentifier, options, cancellationToken).ConfigureAwait(false);
                (os, arch) = (PackagePlatform.CurrentOs, PackagePlatform.CurrentArch);
            }

            // A plugin that calls into one system's libraries without shipping native code (e.g. Linux
            // system calls through P/Invoke) says so in the project; the publish output cannot tell.
            os = properties.GetValueOrDefault("CofferPackageOs") ?? os;
            arch = properties.GetValueOrDefault("CofferPackageArch") ?? arch;
            DropHostProvided(publish, options.HostProvidedAssemblies);
            var entryPath = Path.Combine(publish, entry);
            if (!File.Exists(entryPath))
            {
                throw new PackageException($"{projectFile}: the publish output has no {entry}: is this a plugin project?");
            }

            var abi = ReferencedAbi(entryPath)
                ?? throw new PackageException($"{projectFile}: {entry} does not reference Coffer.Abstractions: a plugin implements ICofferPlugin from it");

            options.Log?.WriteLine($"describing the connectors of {entry}");
            var connectors = await options.DescribeConnectors(name, entryPath, cancellationToken).ConfigureAwait(false);
            var manifest = new PackageManifest
            {
                Name = name,
                Version = version,
                Description = properties.GetValueOrDefault("Description") ?? "",
                License = properties.GetValueOrDefault("PackageLicenseExpression") ?? "",
                Homepage = properties.GetValueOrDefault("PackageProjectUrl") ?? "",
                Abi = abi,
                Os = os,
                Arch = arch,
                Entry = entry,
                Connectors = connectors,
                Files = await DescribeFilesAsync(publish, cancellationToken).ConfigureAwait(false),
            };
            manifest.Validate(projectFile);

            return await WriteAsync(manifest, publish, options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    // Durable: a package file with its final name is always whole.
    private static async Task<string> WriteAsync(PackageManifest manifest, string publish, PackageBuildOptions options, CancellationToken cancellationToken)
    {
        try
        {
            Directory.CreateDirectory(options.OutputDirectory);
            var target = Path.GetFullPath(Path.Combine(options.OutputDirectory, PackageFileName.Of(manifest).ToString()));
            await DurableFile.WriteAsync(target, (stream, ct) => PackageArchive.WriteAsync(stream, manifest, publish, ct), DurableFile.Readable, cancellationToken).ConfigureAwait(false);
            options.Log?.WriteLine($"wrote {target}");
            return target;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PackageException($"cannot write the package into {options.OutputDirectory}: {e.Message}", e);
        }
    }

    /// <summary>The package name a project gets without <c>CofferPackageName</c>: its assembly name in lower case, dots as dashes.</summary>
    /// <param name="assemblyName">The assembly name, e.g. <c>Contoso.Coffer.S3</c>.</param>
    /// <returns>The package name, e.g. <c>contoso-coffer-s3</c>.</returns>
    public static string NameFrom(string assemblyName)
    {
        ArgumentNullException.ThrowIfNull(assemblyName);
        var chars = assemblyName.ToLowerInvariant().Select(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '-');
        return string.Join('-', new string(chars.ToArray()).Split('-', StringSplitOptions.RemoveEmptyEntries));
    }

    private static string FindProjectFile(string project)
    {
        if (File.Exists(project))
        {
            return Path.GetFullPath(project);
        }

        if (!Directory.Exists(project))
        {
            throw new PackageException($"{project} is neither a project directory nor a project file: give the plugin's project directory");
        }

        var files = Directory.GetFiles(project, "*.csproj");
        return files.Length == 1 ? Path.GetFullPath(files[0])
            : throw new PackageException($"{project} holds {files.Length} .csproj files: give the project file itself");
    }

    private static async Task<Dictionary<string, string>> ReadPropertiesAsync(string projectFile, PackageBuildOptions options, CancellationToken cancellationToken)
    {
        var arguments = new List<string> { "msbuild", projectFile, "-nologo", $"-p:Configuration={options.Configuration}" };
        arguments.AddRange(Properties.Select(p => $"-getProperty:{p}"));
        var (exit, output) = await ProcessRunner.RunAsync(options.DotnetPath, arguments, cancellationToken).ConfigureAwait(false);
        if (exit != 0)
        {
            throw new PackageException($"{projectFile}: reading its properties failed: {FirstError(output)}");
        }

        try
        {
            using var document = JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
            return document.RootElement.GetProperty("Properties").EnumerateObject()
                .Where(p => p.Value.GetString() is { Length: > 0 })
                .ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        }
        catch (Exception e) when (e is JsonException or ArgumentOutOfRangeException or KeyNotFoundException or InvalidOperationException)
        {
            throw new PackageException($"{projectFile}: could not read its properties from 'dotnet msbuild -getProperty': {e.Message}", e);
        }
    }

    private static async Task PublishAsync(string projectFile, string output, string? runtime, PackageBuildOptions options, CancellationToken cancellationToken)
    {
        options.Log?.WriteLine($"publishing {Path.GetFileName(projectFile)} ({options.Configuration}{(runtime is null ? "" : $", {runtime}")})");
        var arguments = new List<string>
        {
            "publish", projectFile, "-nologo", "-c", options.Configuration, "-o", output,
            "-p:UseAppHost=false", "-p:GenerateDocumentationFile=false",
        };
        if (runtime is not null)
        {
            arguments.AddRange(["-r", runtime, "--self-contained", "false"]);
        }

        var (exit, text) = await ProcessRunner.RunAsync(options.DotnetPath, arguments, cancellationToken).ConfigureAwait(false);
        if (exit != 0)
        {
            throw new PackageException($"dotnet publish of {projectFile} failed: {FirstError(text)}");
        }
    }

    // One line out of a build log: the first error MSBuild reported, or the last line it wrote.
    private static string FirstError(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.FirstOrDefault(l => l.Contains(": error ", StringComparison.Ordinal)) ?? lines.LastOrDefault() ?? "no output";
    }

    private static bool HasNativeCode(string publish) =>
        Directory.EnumerateFiles(publish, "*", SearchOption.AllDirectories).Any(path =>
        {
            var relative = Path.GetRelativePath(publish, path).Replace('\\', '/');
            var name = Path.GetFileName(path);
            return (relative.StartsWith("runtimes/", StringComparison.Ordinal) && relative.Contains("/native/", StringComparison.Ordinal))
                || name.EndsWith(".so", StringComparison.Ordinal) || name.Contains(".so.", StringComparison.Ordinal)
                || name.EndsWith(".dylib", StringComparison.Ordinal);
        });

    private static void DropHostProvided(string publish, IReadOnlyCollection<string> assemblies)
    {
        foreach (var assembly in assemblies)
        {
            foreach (var extension in new[] { ".dll", ".pdb", ".xml" })
            {
                File.Delete(Path.Combine(publish, assembly + extension));
            }
        }
    }

    // The contracts version the entry was compiled against, read from metadata without loading it.
    private static string? ReferencedAbi(string entryPath)
    {
        using var stream = File.OpenRead(entryPath);
        using var pe = new PEReader(stream);
        if (!pe.HasMetadata)
        {
            return null;
        }

        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.AssemblyReferences)
        {
            var reference = metadata.GetAssemblyReference(handle);
            if (metadata.StringComparer.Equals(reference.Name, "Coffer.Abstractions"))
            {
                return $"{reference.Version.Major}.{reference.Version.Minor}";
            }
        }

        return null;
    }

    private static async Task<IReadOnlyList<FileManifest>> DescribeFilesAsync(string publish, CancellationToken cancellationToken)
    {
        var files = new List<FileManifest>();
        foreach (var path in Directory.EnumerateFiles(publish, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(publish, path).Replace('\\', '/');
            var stream = File.OpenRead(path);
            await using (stream.ConfigureAwait(false))
            {
                var hash = await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
                files.Add(new FileManifest(relative, stream.Length, Convert.ToHexStringLower(hash)));
            }
        }

        return files.OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
    }
}
