namespace OsVenvArtifacts.Builder.Build;

/// <summary>The Python scripts the builder runs inside containers, embedded in its assembly.</summary>
internal static class EmbeddedScript
{
    public static string Read(string name)
    {
        using var stream = typeof(EmbeddedScript).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"{name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
