#:project ../../tests/TestSupport/OsVenvArtifacts.TestSupport.csproj
#:property PublishAot=false
// Writes a directory store with demo venvs of the sizes given (MB), for the memory benchmark (bench/memory.sh).
// Usage: dotnet run generate-artifacts.cs -- STORE_DIR WORK_DIR SIZE_MB...
using System.Globalization;
using OsVenvArtifacts.TestSupport;

var store = args[0];
var work = args[1];
foreach (var mb in args.Skip(2).Select(a => int.Parse(a, CultureInfo.InvariantCulture)))
{
    var builder = InstallArtifactBuilder.Venv("bench", $"{mb}mb", null, "osva-hello");
    // Many mid-sized files, as a real venv has; pseudo-random so gzip cannot shrink them.
    const int FileSize = 1 << 20;
    builder.Entries.Add(InstallEntry.Dir("lib/python3.11/site-packages/blob"));
    for (var i = 0; i < mb; i++) builder.Entries.Add(InstallEntry.Noise($"lib/python3.11/site-packages/blob/{i:D5}.bin", FileSize, i));
    var files = await InstallStore.AddAsync(store, builder, work);
    Console.WriteLine($"{files.Manifest.Archive.FileName} {files.Manifest.Archive.Size} bytes");
}
