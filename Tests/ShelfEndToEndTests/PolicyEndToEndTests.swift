import Foundation
import ShelfTestSupport
import Testing

/// The policy file through the real binary: SampleFeed/shelf.json, prefix refusals, signing
/// certificates on real signed packages, retention with `shelf prune`, invalid files.
@Suite(.serialized)
struct PolicyEndToEndTests {
    static let baseURL = "https://feed.example.com/"

    static func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// SampleFeed/ without its policy, plus a policy written by the test.
    static func input(_ tmp: TemporaryFolder, policy: String?) throws -> String {
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: Repo.sampleFeed) where f.hasSuffix(".nupkg") {
            try FileManager.default.copyItem(atPath: Repo.sampleFeed + "/" + f, toPath: input + "/" + f)
        }
        if let policy { try Data(policy.utf8).write(to: URL(fileURLWithPath: input + "/shelf.json")) }
        return input
    }

    @Test(
        "SampleFeed/shelf.json: valid against shelf.schema.json; owners, verified, unlisted, deprecation, vulnerabilities"
    )
    func sampleFeed() throws {
        let schema = try python([
            "-c",
            "import json,jsonschema,sys; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))",
            Repo.sampleFeed + "/shelf.json", Repo.root.appendingPathComponent("shelf.schema.json").path,
        ])
        #expect(schema.status == 0, "\(schema.stderr)")

        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let out = tmp.sub("feed")
        let r = try shelf(["build", Repo.sampleFeed, "--out", out, "--base-url", Self.baseURL])
        #expect(r.status == 0, "\(r.stderr)")
        let check = try checkFeed(out, baseURL: Self.baseURL, extra: ["--local-folder", out + "/flatcontainer"])
        #expect(check.errors == 0, "\(check.output)")

        // Unlisted: in registration with listed false, restorable, out of search and listings.
        let reg = try #require(
            try Self.json(out + "/registration-semver2/shelf.sample.core/2.0.0-beta.json") as? [String: Any])
        #expect(reg["listed"] as? Bool == false)
        #expect(
            FileManager.default.fileExists(
                atPath: out + "/flatcontainer/shelf.sample.core/2.0.0-beta/shelf.sample.core.2.0.0-beta.nupkg"))
        let search = try #require(try Self.json(out + "/search/query.json") as? [String: Any])
        let hits = try #require(search["data"] as? [[String: Any]])
        let core = try #require(hits.first { $0["id"] as? String == "Shelf.Sample.Core" })
        let versions = (core["versions"] as? [[String: Any]])?.compactMap { $0["version"] as? String } ?? []
        #expect(!versions.contains("2.0.0-beta") && versions.contains("2.0.0"))
        #expect(hits.allSatisfy { $0["verified"] as? Bool == true })
        #expect(core["owners"] as? [String] == ["shelf-team"])
        let legacy = try #require(hits.first { $0["id"] as? String == "Shelf.Sample.Legacy" })
        #expect(legacy["owners"] as? [String] == ["shelf-team", "Jane Doe"])
        #expect((legacy["deprecation"] as? [String: Any])?["reasons"] as? [String] == ["Legacy"])
        let page = try String(contentsOfFile: out + "/packages/shelf.sample.core/2.0.0-rc.1.html", encoding: .utf8)
        #expect(!page.contains(">2.0.0-beta<"), "an unlisted version is not in the version list")
        let unlistedPage = try String(
            contentsOfFile: out + "/packages/shelf.sample.core/2.0.0-beta.html", encoding: .utf8)
        #expect(unlistedPage.contains("Unlisted."))

        // VulnerabilityInfo: advertised, and the advisory imported from OSV is there.
        let index = try String(contentsOfFile: out + "/index.json", encoding: .utf8)
        #expect(index.contains("\"VulnerabilityInfo/6.7.0\""))
        let base = try #require(try Self.json(out + "/vulnerabilities/base.json") as? [String: [[String: Any]]])
        #expect(base["newtonsoft.json"]?.first?["versions"] as? String == "(, 13.0.1)")
        #expect(base["shelf.sample.core"]?.first?["severity"] as? Int == 2)
    }

    @Test("a reserved prefix refuses packages of another owner (status 2), or lets them through unverified")
    func prefixViolation() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = try Self.input(
            tmp,
            policy: #"{"reservedPrefixes": {"Shelf.Sample.": "contoso"}, "owners": {"Shelf.Sample.Core": "contoso"}}"#)
        let out = tmp.sub("feed")
        let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(r.status == 2)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        // Extensions and Legacy declare the owner Shelf in their nuspecs; Analyzers and Preview
        // declare none, so they are taken to be the prefix owner's.
        #expect(errors.count == 2, "Extensions and Legacy: \(r.stderr)")
        #expect(errors.allSatisfy { $0.contains("reserved for contoso (shelf.json:1)") && $0.contains(".nupkg: ") })
        let ids = try FileManager.default.contentsOfDirectory(atPath: out + "/flatcontainer")
        #expect(ids.sorted() == ["shelf.sample.analyzers", "shelf.sample.core", "shelf.sample.preview"])

        let warned = try shelf([
            "build", input, "--out", out, "--base-url", Self.baseURL, "--prefix-violations", "warn",
        ])
        #expect(warned.status == 0, "\(warned.stderr)")
        #expect(warned.stderr.contains("let through unverified"))
        let search = try #require(try Self.json(out + "/search/query.json") as? [String: Any])
        let verified = (search["data"] as? [[String: Any]] ?? []).filter { $0["verified"] as? Bool == true }
        #expect(
            Set(verified.compactMap { $0["id"] as? String }) == [
                "Shelf.Sample.Analyzers", "Shelf.Sample.Core", "Shelf.Sample.Preview",
            ])
        let check = try checkFeed(out, baseURL: Self.baseURL)
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("a prefix that requires a signing certificate, on real signed packages")
    func certificates() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        for f in ["Azure.AI.OpenAI.1.0.0-beta.12.nupkg", "Azure.AI.OpenAI.1.0.0-beta.14.nupkg"] {
            try FileManager.default.copyItem(atPath: Repo.fixtures + "/" + f, toPath: input + "/" + f)
        }
        // Microsoft's code signing certificate of these packages (see PackageSignatureTests).
        let microsoft =
            "56:6A:31:88:2B:E2:08:BE:44:22:F7:CF:D6:6E:D0:9F:5D:45:24:A5:99:4F:50:CC:C8:B0:5E:C0:52:8C:13:53"
        let policy =
            "{\"reservedPrefixes\": {\"Azure.\": {\"owner\": \"Microsoft\", \"certificates\": [\"\(microsoft)\"]}},"
            + " \"owners\": {\"Azure.*\": \"Microsoft\"}}"
        try Data(policy.utf8).write(to: URL(fileURLWithPath: input + "/shelf.json"))
        let out = tmp.sub("feed")
        let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--json"])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        // beta.12 may carry another certificate; every version that is in the feed is verified.
        let kept = summary["versions"] as? Int ?? 0
        #expect(kept >= 1, "\(r.stderr)")
        let search = try #require(try Self.json(out + "/search/query.json") as? [String: Any])
        #expect((search["data"] as? [[String: Any]])?.first?["verified"] as? Bool == true)

        // Another certificate: refused.
        let other = String(repeating: "00", count: 32)
        try Data(policy.replacingOccurrences(of: microsoft, with: other).utf8)
            .write(to: URL(fileURLWithPath: input + "/shelf.json"))
        let refused = try shelf(["build", input, "--out", tmp.sub("feed2"), "--base-url", Self.baseURL])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("requires a signature by one of its certificates"), "\(refused.stderr)")
    }

    @Test(
        "retention: versions beyond the limits leave the feed; shelf prune --dry-run lists them, shelf prune removes them"
    )
    func retentionAndPrune() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = try Self.input(tmp, policy: #"{"retention": {"stable": 2, "prerelease": 1}}"#)
        let out = tmp.sub("feed")
        let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(r.status == 0, "\(r.stderr)")
        let flat = try #require(
            try Self.json(out + "/flatcontainer/shelf.sample.core/index.json") as? [String: [String]])
        #expect(flat["versions"] == ["1.1.0", "2.0.0-rc.1", "2.0.0"])
        #expect(r.stderr.contains("left out of the feed by retention"))

        let dry = try shelf(["prune", input, "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let listed = dry.stdout.split(separator: "\n").filter { $0.hasPrefix("would remove ") }.sorted()
        #expect(
            listed == [
                "would remove Shelf.Sample.Core.1.0.0.nupkg (Shelf.Sample.Core 1.0.0)",
                "would remove Shelf.Sample.Core.2.0.0-beta.nupkg (Shelf.Sample.Core 2.0.0-beta)",
            ])
        #expect(
            FileManager.default.fileExists(atPath: input + "/Shelf.Sample.Core.1.0.0.nupkg"), "dry run removes nothing")

        let before = try snapshot(out) { $0.hasPrefix(".shelf/") }
        let prune = try shelf(["prune", input])
        #expect(prune.status == 0)
        #expect(prune.stdout.contains("removed 2 package files"))
        #expect(!FileManager.default.fileExists(atPath: input + "/Shelf.Sample.Core.1.0.0.nupkg"))
        // The feed already left them out: rebuilding changes nothing.
        let again = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--quiet"])
        #expect(again.status == 0)
        #expect(try snapshot(out) { $0.hasPrefix(".shelf/") } == before)
    }

    @Test("an invalid policy file stops the build before anything is written, naming the line and the fix")
    func invalidPolicy() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = try Self.input(tmp, policy: "{\n  \"unlisted\": {\n    \"Shelf.Sample.Core\": \"[2.0\"\n  }\n}\n")
        let out = tmp.sub("feed")
        let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(r.status == 1)
        #expect(r.stderr.contains("shelf.json:3: '[2.0' is not a version range"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        // --policy points elsewhere; a missing one is an error too.
        let missing = try shelf([
            "build", input, "--out", out, "--base-url", Self.baseURL, "--policy", tmp.sub("nope.json"),
        ])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("nope.json: cannot be read"))
    }

    @Test("entries that match nothing are warned about with their line")
    func unusedEntries() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = try Self.input(tmp, policy: "{\n  \"unlisted\": {\"Shelf.Sample.Typo\": \"*\"}\n}\n")
        let r = try shelf(["build", input, "--out", tmp.sub("feed"), "--base-url", Self.baseURL])
        #expect(r.status == 0)
        #expect(
            r.stderr.contains("warning: shelf.json:2: unlisted: Shelf.Sample.Typo (, ) matches no package"),
            "\(r.stderr)")
    }
}
