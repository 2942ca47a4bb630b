namespace OsVenvArtifacts.TestSupport;

/// <summary>Release files for builder tests, written next to a wheelhouse made by <c>osva-build wheels</c>.</summary>
public static class BuildReleases
{
    /// <summary>Three services: a pure package, a C extension, and a second pure package with its own script.</summary>
    public static string ThreeServices(string installRoot) => $"""
        release: test
        defaults:
          platforms: [debian-12]
          wheelhouse: ./wheels
          installPath: {installRoot}/{'{'}service{'}'}-{'{'}tag{'}'}
          sourceDateEpoch: 1700000000
        services:
          - name: demo
            tag: 1.0.0
            requirements: [osva-demo-hello==1.0.0]
            consoleScripts: [osva-hello, osva-hello-manage]
            runtimePackages: [python3.11]
            systemd: {"{"} units: [ {"{"} name: demo-api, execStart: osva-hello {"}"} ] {"}"}
            rootwrap: {"{"} configPath: /etc/demo/rootwrap.conf, command: demo-rootwrap, filtersDir: etc/demo/rootwrap.d {"}"}
          - name: native
            tag: 1.0.0
            requirements: [osva-demo-native==1.0.0]
            consoleScripts: [osva-native]
          - name: tools
            tag: 2.0.0
            requirements: [osva-demo-tools]
            consoleScripts: [osva-tools]
        """;

    /// <summary>A one-service release whose service gets the given requirement and scripts.</summary>
    public static string OneService(string name, string requirement, string script, string platform = "debian-12") => $"""
        defaults:
          platforms: [{platform}]
          wheelhouse: ./wheels
          sourceDateEpoch: 1700000000
        services:
          - name: {name}
            tag: 1.0.0
            requirements: ["{requirement}"]
            consoleScripts: [{script}]
        """;
}
