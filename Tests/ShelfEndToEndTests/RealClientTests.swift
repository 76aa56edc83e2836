import Foundation
import ShelfTestSupport
import Testing

/// The official NuGet client reads what Shelf builds: `nugetcheck` from `../shared/tools/realclient`
/// runs NuGet's own client libraries (5.4.0, and the 4.3.1 restore) on Mono against the feed served
/// by nginx and as a local folder (its flat container), and restores a package that has a
/// dependency from both. When `../shared` is not beside the repository the test says so in one
/// line; when it is but the harness is not built, the test fails (`.ci/run` builds it).
@Suite(.serialized)
struct RealClientTests {
    static let nugetcheck = Repo.realClient + "/nugetcheck"
    /// Where `build.sh` puts the compiled harness.
    static var harness: String {
        ProcessInfo.processInfo.environment["REALCLIENT_BIN"] ?? NSHomeDirectory() + "/.cache/shelf-realclient"
    }

    /// Whether the harness can run (an issue is recorded when it is there but not built).
    static func available() -> Bool {
        guard FileManager.default.fileExists(atPath: nugetcheck) else {
            Skipped.say(
                "the official NuGet client",
                "\(nugetcheck) is not there (../shared is beside our checkouts and CI only)")
            return false
        }
        let built = ["out/NuGetCheck.exe", "out-restore/NuGetRestore.exe"].allSatisfy {
            FileManager.default.fileExists(atPath: harness + "/" + $0)
        }
        if !built {
            let why =
                "the official NuGet client's harness is not built in \(harness): run `apt-get install -y "
                + "mono-complete` and \(Repo.realClient)/build.sh (.ci/run does both)"
            Issue.record(Comment(rawValue: why))
        }
        return built
    }

    /// Builds `input`, serves it with nginx, runs `nugetcheck` over HTTP and on the flat container,
    /// restoring `restore`; expects no failure and prints the client's count.
    static func check(_ name: String, input: String, restore: String) throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let port = try freePort()
        let base = "http://127.0.0.1:\(port)/"
        let out = tmp.sub("feed")
        let built = try shelf(["build", input, "--out", out, "--base-url", base, "--host", "nginx", "--quiet"])
        #expect(built.status == 0 || built.status == 2, "\(built.stderr)")
        let server = try HostingTests.Nginx(feed: out, port: port, scratch: tmp.sub("nginx"))
        defer { server.stop() }
        let r = try run(
            "/usr/bin/timeout",
            ["900", nugetcheck, base + "index.json", "--local", out + "/flatcontainer", "--restore", restore])
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        print("the official NuGet client on \(name): \(last)")
        let failures = r.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }.prefix(20)
        #expect(r.status == 0, "nugetcheck on \(name): \(last)\n\(failures.joined(separator: "\n"))\n\(r.stderr)")
        #expect(last.hasSuffix(" 0 failed") && !last.hasPrefix("0 passed"), "\(last)")
    }

    @Test(
        "SampleFeed: the official client reads it over nginx and as a local folder, and restores a package with a dependency"
    )
    func sampleFeed() throws {
        guard Self.available() else { return }
        try Self.check("SampleFeed", input: Repo.sampleFeed, restore: "Shelf.Sample.Extensions@1.0.0")
    }

    @Test(
        "the public corpus: the official client reads it over nginx and as a local folder, and restores a package with a dependency"
    )
    func corpus() throws {
        guard Self.available() else { return }
        guard FileManager.default.fileExists(atPath: Repo.corpus) else {
            Skipped.say("the public corpus", "\(Repo.corpus) is not there")
            return
        }
        // WebActivatorEx 2.2.0 depends on Microsoft.Web.Infrastructure, which the corpus also holds.
        try Self.check("the public corpus", input: Repo.corpus, restore: "WebActivatorEx@2.2.0")
    }
}
