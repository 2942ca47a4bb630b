using System.Formats.Tar;
using OsVenvArtifacts.TestSupport;

namespace OsVenvArtifacts.Installer.Tests;

/// <summary>
/// Archives whose hashes all match (so they reach extraction) but whose entries try to leave or abuse the venv.
/// Each is refused with the reason, nothing is installed, nothing escapes, and the previous tag stays active.
/// </summary>
public sealed class HostileArchiveTests
{
    [Theory]
    [InlineData("absolute-path", "absolute path")]
    [InlineData("parent-traversal", "'..' in the path")]
    [InlineData("parent-traversal-inside-path", "'..' in the path")]
    [InlineData("symlink-escaping-the-venv", "escapes the venv")]
    [InlineData("symlink-to-absolute-directory", "only bin/python* may leave the venv")]
    [InlineData("interpreter-link-to-another-program", "not the manifest's interpreter")]
    [InlineData("write-through-a-symlink", "path goes through the symlink")]
    [InlineData("chained-symlinks-then-write", "path goes through the symlink")]
    [InlineData("hardlink-outside-the-venv", "absolute path")]
    [InlineData("hardlink-to-a-parent-path", "'..' in the path")]
    [InlineData("hardlink-to-an-entry-not-unpacked", "not a file unpacked earlier")]
    [InlineData("character-device", "device node")]
    [InlineData("block-device", "device node")]
    [InlineData("fifo", "fifo")]
    [InlineData("setuid-file", "setuid, setgid or sticky")]
    [InlineData("setgid-directory", "setuid, setgid or sticky")]
    [InlineData("sticky-directory", "setuid, setgid or sticky")]
    [InlineData("world-writable-file", "lets group or others write")]
    [InlineData("group-writable-directory", "lets group or others write")]
    [InlineData("world-writable-hardlink", "lets group or others write")]
    [InlineData("duplicate-entry-replacing-a-checked-file", "duplicate entry")]
    [InlineData("more-bytes-than-the-manifest-states", "the size its manifest states")]
    public async Task Install_refuses_a_hostile_archive_and_keeps_the_previous_tag(string attack, string reason)
    {
        using var outcome = TrustLog.Hostile(nameof(HostileArchiveTests), attack);
        using var host = new ScratchHost();
        await host.PublishAsync(ScratchHost.Demo("1.0.0"));
        await host.InstallAsync("demo", "1.0.0");
        var before = host.ServiceFiles();
        var hostile = ScratchHost.Demo("6.6.6");
        hostile.Entries.AddRange(Attack(attack, host.TempPath));
        if (attack == "more-bytes-than-the-manifest-states") hostile.UnpackedSize = 100;
        await host.PublishAsync(hostile);

        var e = await Assert.ThrowsAsync<InstallerException>(() => host.InstallAsync("demo", "6.6.6"));

        Assert.Equal("OSVA-I030", e.Code);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(host.OnDisk("/openstack/venvs/demo-6.6.6")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(host.OnDisk("/openstack/venvs/.staging")));
        Assert.False(File.Exists(Path.Combine(host.TempPath, "escaped")));
        Assert.Equal("1.0.0", (await host.StateAsync("demo")).Active);
        Assert.Equal(before, host.ServiceFiles());
        outcome.Refused();
    }

    private static IEnumerable<InstallEntry> Attack(string attack, string outside) => attack switch
    {
        "absolute-path" => [InstallEntry.Text(outside + "/escaped", "x")],
        "parent-traversal" => [InstallEntry.Text("../../../../escaped", "x")],
        "parent-traversal-inside-path" => [InstallEntry.Text("lib/../../escaped", "x")],
        "symlink-escaping-the-venv" => [InstallEntry.Link("lib/evil", "../../../../../../etc")],
        "symlink-to-absolute-directory" => [InstallEntry.Link("lib/evil", outside)],
        "interpreter-link-to-another-program" => [InstallEntry.Link("bin/python3.12", "/bin/sh")],
        "write-through-a-symlink" => [InstallEntry.Link("lib/up", ".."), InstallEntry.Text("lib/up/escaped", "x")],
        // Each link alone stays inside; writing below the chain must still be refused (System.Formats.Tar's old bug class).
        "chained-symlinks-then-write" => [InstallEntry.Link("a", "lib"), InstallEntry.Link("lib/b", "../a"), InstallEntry.Text("a/b/escaped", "x")],
        "hardlink-outside-the-venv" => [new InstallEntry("lib/shadow", TarEntryType.HardLink, 0x1A4, LinkName: "/etc/shadow")],
        "hardlink-to-a-parent-path" => [new InstallEntry("lib/shadow", TarEntryType.HardLink, 0x1A4, LinkName: "../../etc/shadow")],
        "hardlink-to-an-entry-not-unpacked" => [new InstallEntry("lib/later", TarEntryType.HardLink, 0x1A4, LinkName: "lib/not-yet")],
        "character-device" => [new InstallEntry("dev-null", TarEntryType.CharacterDevice, 0x1B6)],
        "block-device" => [new InstallEntry("dev-sda", TarEntryType.BlockDevice, 0x1B0)],
        "fifo" => [new InstallEntry("pipe", TarEntryType.Fifo, 0x1A4)],
        "setuid-file" => [InstallEntry.Text("bin/su-me", "#!/bin/sh\n", 0x800 | 0x1ED)],
        "setgid-directory" => [InstallEntry.Dir("share", 0x400 | 0x1ED)],
        "sticky-directory" => [InstallEntry.Dir("share", 0x200 | 0x1FF)],
        "world-writable-file" => [InstallEntry.Text("lib/python3.11/site-packages/sitecustomize.py", "import os\n", 0x1FF)],
        "group-writable-directory" => [InstallEntry.Dir("share", 0x1FD)],
        "world-writable-hardlink" => [InstallEntry.Text("lib/a.py", "x"), new InstallEntry("lib/b.py", TarEntryType.HardLink, 0x1B6, LinkName: "lib/a.py")],
        "duplicate-entry-replacing-a-checked-file" => [InstallEntry.Text("pyvenv.cfg", "home = /tmp/evil\n")],
        "more-bytes-than-the-manifest-states" => [InstallEntry.Noise("lib/big.bin", 4096, 1)],
        _ => throw new ArgumentOutOfRangeException(nameof(attack)),
    };
}
