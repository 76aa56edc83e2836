import Foundation
import ShelfTestSupport
import Testing

/// `shelf validate` on folders and over HTTP: a good feed passes; each kind of damage is named.
@Suite(.serialized)
struct ValidateTests {
    static let baseURL = "https://feed.example.com/"

    static func build(_ out: String) throws {
        let r = try shelf(["build", Repo.sampleFeed, "--out", out, "--base-url", baseURL, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test("a good feed passes, from the folder and over HTTP; the fixtures' feed passes too")
    func goodFeeds() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let out = tmp.sub("feed")
        try Self.build(out)
        let local = try shelf(["validate", out])
        #expect(local.status == 0, "\(local.stderr)")
        #expect(local.stdout.contains("5 ids, 9 versions, 9 packages hashed"), "\(local.stdout)")
        let server = try StaticServer(serving: out)
        defer { server.stop() }
        let http = try shelf(["validate", server.url + "index.json", "--base-url", Self.baseURL])
        #expect(http.status == 0, "\(http.stderr)")
        #expect(http.stdout.contains("5 ids, 9 versions"), "\(http.stdout)")

        let fixtures = tmp.sub("fixtures")
        _ = try shelf(["build", Repo.fixtures, "--out", fixtures, "--base-url", Self.baseURL, "--quiet", "--no-site"])
        let c = try shelf(["validate", fixtures])
        #expect(c.status == 0, "\(c.stderr)")
        #expect(c.stdout.contains("36 ids, 172 versions"), "\(c.stdout)")
    }

    @Test("damage is found: hash, missing .sha512, missing package, SemVer 2.0.0 in the old hive, bare gzip over HTTP")
    func damagedFeeds() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let out = tmp.sub("feed")
        try Self.build(out)
        let fm = FileManager.default
        let flat = out + "/flatcontainer"
        // A package whose bytes changed after its hash was written.
        let nupkg = flat + "/shelf.sample.extensions/1.0.0/shelf.sample.extensions.1.0.0.nupkg"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: nupkg))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: nupkg))
        // A version a local-folder client cannot see.
        try fm.removeItem(atPath: flat + "/shelf.sample.legacy/1.2.3.4/shelf.sample.legacy.1.2.3.4.nupkg.sha512")
        // A package the registration links to that is gone.
        try fm.removeItem(atPath: flat + "/shelf.sample.core/1.1.0/shelf.sample.core.1.1.0.nupkg")
        // The SemVer 2.0.0 hive copied over the SemVer 1.0.0 one: 2.0.0-rc.1 lands where old clients read.
        try fm.removeItem(atPath: out + "/registration/shelf.sample.core/index.json")
        try fm.copyItem(
            atPath: out + "/registration-semver2/shelf.sample.core/index.json",
            toPath: out + "/registration/shelf.sample.core/index.json")

        // A registration whose packages' folder is gone (what a kill between two renames leaves).
        try fm.moveItem(atPath: flat + "/shelf.sample.preview", toPath: tmp.sub("preview-away"))

        let r = try shelf(["validate", out])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        func has(_ location: String, _ words: String) -> Bool {
            lines.contains { $0.hasPrefix("error: ") && $0.contains(location) && $0.contains(words) }
        }
        #expect(has("shelf.sample.extensions 1.0.0", ".nupkg.sha512 does not match"), "\(lines)")
        #expect(has("shelf.sample.legacy 1.2.3.4", "no .nupkg.sha512"), "\(lines)")
        #expect(has("shelf.sample.core 1.1.0", "package cannot be read"), "\(lines)")
        #expect(has("shelf.sample.core 1.1.0", "packageContent"), "\(lines)")
        #expect(
            has("shelf.sample.core 2.0.0-rc.1", "SemVer 2.0.0 version in the SemVer 1.0.0 registration hive"),
            "\(lines)")
        #expect(r.stdout.contains("errors"), "\(r.stdout)")
        #expect(
            lines.contains { $0.hasPrefix("error: ") && $0.contains("flatcontainer/shelf.sample.preview/index.json") })

        // Gzip bytes without Content-Encoding: what a bucket upload without metadata serves.
        let fresh = tmp.sub("fresh")
        try Self.build(fresh)
        let gz = try run(
            "/bin/sh",
            [
                "-c",
                "gzip -n -c '\(fresh)/registration-semver2/shelf.sample.preview/index.json' > '\(fresh)/x.gz' && mv '\(fresh)/x.gz' '\(fresh)/registration-semver2/shelf.sample.preview/index.json'",
            ])
        #expect(gz.status == 0, "\(gz.stderr)")
        let server = try StaticServer(serving: fresh)
        defer { server.stop() }
        let http = try shelf(["validate", server.url + "index.json", "--base-url", Self.baseURL])
        #expect(http.status == 1)
        #expect(http.stderr.contains("gzip bytes served without Content-Encoding: gzip"), "\(http.stderr)")
        // From the folder the same file is only a warning: it depends on how it is served.
        let local = try shelf(["validate", fresh])
        #expect(
            local.stderr.contains("warning: ") && local.stderr.contains("stored gzip-compressed"), "\(local.stderr)")
    }
}
