import Foundation
import ShelfTestSupport
import Testing

/// Every file `shelf build` writes is one of the golden files the renderers' tests keep (or a
/// copy of an input package), and every golden file is written: the goldens cover the whole
/// output, not a part of it.
@Suite(.serialized)
struct GoldenOutputTests {
    static let tests = Repo.root.appendingPathComponent("Tests")
    static let feedGolden = tests.appendingPathComponent("ShelfFeedTests/Golden/SampleFeed")
    static let siteGolden = tests.appendingPathComponent("ShelfSiteTests/Golden/SampleFeed")
    static let hostGolden = tests.appendingPathComponent("ShelfFeedTests/Golden/Hosts")

    /// What a build of SampleFeed writes, Shelf's own records aside.
    static func build(_ options: [String], baseURL: String = "https://feed.example.com/") throws -> [String: Data] {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let out = tmp.sub("feed")
        let r = try shelf(["build", Repo.sampleFeed, "--out", out, "--base-url", baseURL, "--quiet"] + options)
        #expect(r.status == 0, "\(r.stderr)")
        return try snapshot(out, excluding: { $0.hasPrefix(".shelf/") && !$0.hasPrefix(".shelf/host/") })
    }

    /// The bytes `gzip -d` makes of `data` (nil when it refuses them).
    static func gunzip(_ data: Data) throws -> Data? {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        try data.write(to: URL(fileURLWithPath: tmp.sub("x.gz")))
        let r = try run("/bin/gzip", ["-dc", tmp.sub("x.gz")])
        return r.status == 0 ? Data(r.stdout.utf8) : nil
    }

    /// The input packages' bytes: what a `.nupkg` of the feed must be one of.
    static func inputPackages() throws -> Set<Data> {
        Set(
            try FileManager.default.contentsOfDirectory(atPath: Repo.sampleFeed).filter { $0.hasSuffix(".nupkg") }
                .map { try Data(contentsOf: URL(fileURLWithPath: Repo.sampleFeed + "/" + $0)) })
    }

    /// Checks an output against goldens (the first that has a path wins): every file is golden
    /// or an input package, and every golden file is there.
    static func check(_ output: [String: Data], against goldens: [[String: Data]]) throws {
        let packages = try inputPackages()
        var expected: [String: Data] = [:]
        for golden in goldens.reversed() { expected.merge(golden) { _, new in new } }
        for (path, data) in output.sorted(by: { $0.key < $1.key }) {
            if path.hasSuffix(".nupkg") {
                #expect(packages.contains(data), "\(path) is not a copy of an input package")
            } else if let golden = expected[path] {
                let diff = UnifiedDiff.make(expected: golden, actual: data, path: path)
                #expect(diff.isEmpty, "\(path) differs from its golden file:\n\(diff)")
            } else if path.hasPrefix("packages/"), let page = output[path.lowercased()], path != path.lowercased() {
                // A page at another casing: the same bytes as the lowercase page.
                #expect(data == page, "\(path) is not the page \(path.lowercased())")
            } else {
                Issue.record("\(path) is written, but no golden file shows it")
            }
        }
        let missing = Set(expected.keys).subtracting(output.keys).sorted()
        #expect(missing.isEmpty, "golden files the build does not write: \(missing.prefix(10))")
    }

    @Test("shelf build --no-site: every file is a golden file of the feed's renderers, or an input package")
    func feed() throws {
        try Self.check(try Self.build(["--no-site"]), against: [try Golden.files(in: Self.feedGolden)])
    }

    @Test("shelf build: the feed's and the site's golden files, the pages at every casing, the input packages")
    func feedAndSite() throws {
        try Self.check(
            try Self.build([]), against: [try Golden.files(in: Self.siteGolden), try Golden.files(in: Self.feedGolden)])
    }

    @Test(
        "shelf build --host: each host's configuration is its golden file",
        arguments: ["nginx", "nginx-gzip", "apache", "apache-gzip", "iis", "netlify", "cloudflare", "github-pages"])
    func host(_ name: String) throws {
        let host = name.replacingOccurrences(of: "-gzip", with: "")
        let options = ["--no-site", "--host", host] + (name.hasSuffix("-gzip") ? ["--gzip"] : [])
        let output = try Self.build(options, baseURL: "https://feed.example.com/nuget/")
        let golden = try Golden.files(in: Self.hostGolden.appendingPathComponent(name))
        #expect(!golden.isEmpty)
        for (path, data) in golden {
            let diff = UnifiedDiff.make(expected: data, actual: output[path] ?? Data(), path: path)
            #expect(diff.isEmpty, "\(name): \(path) differs from its golden file:\n\(diff)")
        }
    }

    @Test("shelf build --host nginx --gzip: each registration document is its golden file, gzip-compressed")
    func gzipRegistrations() throws {
        let output = try Self.build(["--no-site", "--host", "nginx", "--gzip"])
        let golden = try Golden.files(in: Self.feedGolden)
        let registration = output.filter { $0.key.hasPrefix("registration") }
        #expect(registration.count == golden.filter { $0.key.hasPrefix("registration") }.count)
        for (path, data) in registration.sorted(by: { $0.key < $1.key }) {
            #expect(data.starts(with: [0x1F, 0x8B]), "\(path) is not gzip")
            let plain = try #require(try Self.gunzip(data), "\(path) does not decompress")
            #expect(plain == golden[path], "\(path)")
        }
        #expect(
            output["flatcontainer/shelf.sample.core/index.json"] == golden["flatcontainer/shelf.sample.core/index.json"]
        )
    }
}
