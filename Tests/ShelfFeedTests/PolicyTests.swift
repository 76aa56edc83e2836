import Foundation
import Testing

@testable import NuGetCore
@testable import ShelfFeed

/// The policy file's rules, one table per rule.
struct PolicyTests {
    static func policy(_ json: String) throws -> FeedPolicy {
        try FeedPolicy.parse(Data(json.utf8), file: "shelf.json", folder: "/nonexistent")
    }

    static func archive(
        _ id: String, _ version: String, packed: Double = 0, signer: String? = nil, owners: String? = nil
    )
        throws -> PackageArchive
    {
        let ownersXML = owners.map { "<owners>\($0)</owners>" } ?? ""
        let nuspec = try Nuspec(
            data: Data(
                "<package><metadata><id>\(id)</id><version>\(version)</version>\(ownersXML)</metadata></package>".utf8))
        return PackageArchive(
            path: "/in/\(id).\(version).nupkg", size: 1, sha512: "\(id)\(version)", nuspec: nuspec,
            nuspecEntry: "\(id).nuspec", packedAt: Date(timeIntervalSince1970: 1_600_000_000 + packed),
            isSigned: signer != nil, signerFingerprint: signer, icon: nil, readme: nil, licenseFile: nil, warnings: [])
    }

    static func model(_ archives: [PackageArchive]) -> FeedModel { FeedModel(packages: archives) }

    @Test(
        "id patterns: exact, prefix, glob; case-insensitive",
        arguments: [
            ("Contoso.Core", "contoso.core", true), ("Contoso.Core", "Contoso.Core.Extra", false),
            ("Contoso.", "Contoso.Core", true), ("Contoso.", "Contoso", false), ("Contoso.*", "contoso.x.y", true),
            ("Contoso.*", "ContosoX", false), ("*.Tests", "Contoso.Tests", true),
            ("*.Tests", "Contoso.Tests.Core", false),
            ("Contoso.*.Core", "Contoso.A.B.Core", true), ("*", "anything", true),
        ])
    func patterns(pattern: String, id: String, matches: Bool) throws {
        #expect(try #require(IdPattern(pattern)).matches(id) == matches)
    }

    /// Each invalid file fails with the line to fix and a message that says how.
    @Test(
        "an invalid policy file names the line and the fix",
        arguments: [
            ("{\n  \"owners\": {\n    \"A\": [\"x\"]\n    \"B\": [\"y\"]\n  }\n}", 4, "',' or '}'"),
            ("{\n  \"ownerz\": {}\n}", 2, "unknown member 'ownerz'"),
            ("{\n  \"unlisted\": {\n    \"A\": \"[1.0.0, \"\n  }\n}", 3, "not a version range"),
            (
                "{\"vulnerabilities\": [\n {\"id\": \"A\", \"versions\": \"*\", \"advisoryUrl\": \"https://x\", \"severity\": \"urgent\"}\n]}",
                2,
                "unknown severity 'urgent'"
            ),
            (
                "{\"deprecations\": [\n {\"id\": \"A\",\n  \"reasons\": [\"Old\"]}]}", 3,
                "use Legacy, CriticalBugs or Other"
            ),
            ("{\"owners\": {\"A\": [\"x\"],\n \"A\": [\"y\"]}}", 2, "appears twice"),
            ("{\"reservedPrefixes\": {\"A.\": {\"owner\": \"x\",\n \"certificates\": [\"abc\"]}}}", 2, "not a SHA-256"),
            ("{\"owners\": {\"a b\": [\"x\"]}}", 1, "not a package id or pattern"),
            ("{\"retention\": {\n\"stable\": -1}}", 2, "whole number"),
            ("{\"deprecations\": [{\"id\": \"A\"}]}", 1, "has no 'reasons'"),
            ("[]", 1, "must be an object"),
        ])
    func invalid(json: String, line: Int, fragment: String) {
        #expect {
            _ = try Self.policy(json)
        } throws: { error in
            guard let e = error as? PolicyError else { return false }
            return e.line == line && e.description.contains(fragment)
        }
    }

    @Test("versions: a bare version is that version only, * is every version, ranges as NuGet writes them")
    func ranges() throws {
        let p = try Self.policy(
            #"{"unlisted": {"A": "1.0.0", "B": "*", "C": "[1.0.0, 2.0.0)", "D": ["1.0.0", "3.0.0"]}}"#)
        let v1 = NuGetVersion("1.0.0")!
        let v15 = NuGetVersion("1.5.0")!
        #expect(p.unlisted[0].versions.satisfies(v1) && !p.unlisted[0].versions.satisfies(v15))
        #expect(p.unlisted[1].versions == .all)
        #expect(p.unlisted[2].versions.satisfies(v15))
        #expect(p.unlisted.count == 5)
    }

    @Test("owners: every matching entry adds owners; the nuspec's owners when none matches")
    func owners() throws {
        let p = try Self.policy(#"{"owners": {"Contoso.*": ["contoso"], "Contoso.Core": ["jane", "Contoso"]}}"#)
        let m = Self.model([
            try Self.archive("Contoso.Core", "1.0.0"), try Self.archive("Other", "1.0.0", owners: "bob, alice"),
        ])
        let out = p.apply(to: m).model.registrations
        #expect(out.first { $0.id == "Contoso.Core" }?.owners == ["contoso", "jane"])
        #expect(out.first { $0.id == "Other" }?.owners == ["bob", "alice"])
        #expect(out.allSatisfy { !$0.verified })
    }

    @Test("reserved prefix: the owner's packages are verified, others refused, or let through unverified on request")
    func reservedPrefix() throws {
        let p = try Self.policy(
            #"{"owners": {"Contoso.Evil": ["mallory"]}, "reservedPrefixes": {"Contoso.": "contoso"}}"#)
        let m = Self.model([
            try Self.archive("Contoso.Core", "1.0.0"), try Self.archive("Contoso.Evil", "1.0.0"),
            try Self.archive("Contoso.Claimed", "1.0.0", owners: "someone"),
        ])
        let refused = p.apply(to: m)
        #expect(refused.model.registrations.map(\.id) == ["Contoso.Core"])
        #expect(refused.model.registrations[0].verified)
        #expect(refused.model.registrations[0].owners == ["contoso"])
        #expect(refused.refused.count == 2)
        #expect(refused.refused.allSatisfy { $0.message.contains("reserved for contoso (shelf.json:1)") })
        let warned = p.apply(to: m, warnOnPrefixViolation: true)
        #expect(warned.refused.isEmpty)
        #expect(warned.model.registrations.count == 3)
        #expect(warned.model.registrations.filter(\.verified).map(\.id) == ["Contoso.Core"])
        #expect(warned.diagnostics.filter { $0.severity == .warning }.count == 2)
    }

    @Test("reserved prefix with certificates: only packages signed by one of them")
    func certificates() throws {
        let good = String(repeating: "AB", count: 32)
        let p = try Self.policy(
            "{\"reservedPrefixes\": {\"Contoso.*\": {\"owner\": \"contoso\", \"certificates\": [\"\(good.lowercased())\"]}}}"
        )
        let m = Self.model([
            try Self.archive("Contoso.A", "1.0.0", signer: good), try Self.archive("Contoso.A", "2.0.0"),
            try Self.archive("Contoso.B", "1.0.0", signer: String(repeating: "CD", count: 32)),
        ])
        let out = p.apply(to: m)
        #expect(out.model.registrations.map(\.id) == ["Contoso.A"])
        #expect(out.model.registrations[0].versions.map(\.version.normalizedString) == ["1.0.0"])
        #expect(out.refused.count == 2)
        #expect(out.refused.contains { $0.message.contains("this package is not signed") })
    }

    @Test("unlisted, deprecation (first match) and vulnerabilities (all matches) per version")
    func perVersion() throws {
        let p = try Self.policy(
            """
            {"unlisted": {"A": "[1.0.0, 2.0.0)"},
             "deprecations": [
               {"id": "A", "versions": "1.0.0", "reasons": ["CriticalBugs"], "message": "first"},
               {"id": "A", "reasons": ["Legacy", "Other"], "alternatePackage": {"id": "B", "versions": "[2.0.0, )"}}],
             "vulnerabilities": [
               {"id": "A", "versions": "(, 2.0.0)", "advisoryUrl": "https://x/1", "severity": "critical"},
               {"id": "A*", "versions": "[1.0.0]", "advisoryUrl": "https://x/2", "severity": 0},
               {"id": "A", "versions": "[1.0.0]", "advisoryUrl": "https://x/2", "severity": "low"}]}
            """)
        let m = Self.model([try Self.archive("A", "1.0.0"), try Self.archive("A", "2.0.0")])
        let out = p.apply(to: m)
        let v = out.model.registrations[0].versions
        #expect(v.map(\.listed) == [false, true])
        #expect(v[0].deprecation?.reasons == [.criticalBugs] && v[0].deprecation?.message == "first")
        #expect(v[1].deprecation?.reasons == [.legacy, .other] && v[1].deprecation?.alternateId == "B")
        #expect(v[0].vulnerabilities.map(\.advisoryURL) == ["https://x/1", "https://x/2"])
        #expect(v[0].vulnerabilities.map(\.severity) == [.critical, .low])
        #expect(v[1].vulnerabilities.isEmpty)
        #expect(out.diagnostics.isEmpty, "\(out.diagnostics)")
    }

    @Test("retention keeps the newest N stable and M prerelease versions; the rest is pruned")
    func retention() throws {
        let p = try Self.policy(#"{"retention": [{"id": "Keep.*", "stable": 100}, {"stable": 2, "prerelease": 1}]}"#)
        let versions = ["1.0.0", "1.1.0", "2.0.0-beta", "2.0.0-rc.1", "2.0.0", "3.0.0-alpha"]
        let m = Self.model(try versions.map { try Self.archive("A", $0) } + [try Self.archive("Keep.Me", "1.0.0")])
        let out = p.apply(to: m)
        #expect(
            out.model.registrations.first { $0.id == "A" }?.versions.map(\.version.normalizedString)
                == ["1.1.0", "2.0.0", "3.0.0-alpha"])
        #expect(Set(out.pruned.map(\.nuspec.version.normalizedString)) == ["1.0.0", "2.0.0-beta", "2.0.0-rc.1"])
        #expect(out.model.registrations.first { $0.id == "Keep.Me" }?.versions.count == 1)
        #expect(out.diagnostics.filter { $0.severity == .note }.count == 3)
    }

    @Test("every entry that matches nothing is warned about, with its line")
    func unused() throws {
        let p = try Self.policy(
            """
            {
              "owners": {"Nope.*": ["x"]},
              "unlisted": {"A": "9.9.9"},
              "deprecations": [{"id": "Missing", "reasons": ["Legacy"]}],
              "vulnerabilities": [{"id": "Gone", "versions": "*", "advisoryUrl": "https://x", "severity": "high"}],
              "reservedPrefixes": {"Zed.": "z"},
              "retention": [{"id": "Nothing.*", "stable": 1}]
            }
            """)
        let out = p.apply(to: Self.model([try Self.archive("A", "1.0.0")]))
        let warnings = out.diagnostics.filter { $0.severity == .warning }
        #expect(warnings.count == 6)
        #expect(
            Set(warnings.compactMap(\.file)) == [
                "shelf.json:2", "shelf.json:3", "shelf.json:4", "shelf.json:5", "shelf.json:6", "shelf.json:7",
            ])
    }

    @Test(
        "GitHub's constraint ranges",
        arguments: [
            (">= 1.0.0, < 1.2.3", "[1.0.0, 1.2.3)"), ("< 2.0", "(, 2.0.0)"), ("= 1.0.0", "[1.0.0]"),
            ("<= 1.0", "(, 1.0.0]"), ("> 1.0.0", "(1.0.0, )"), ("1.0.0", "[1.0.0]"),
        ])
    func githubRanges(text: String, range: String) throws {
        #expect(try #require(AdvisoryImport.constraintRange(text)).normalizedString == range)
    }

    @Test("OSV and GitHub advisories import, other ecosystems are ignored")
    func advisories() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("shelf-adv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let osv = """
            {"id": "GHSA-1", "affected": [
              {"package": {"ecosystem": "NuGet", "name": "A"}, "ranges": [{"type": "ECOSYSTEM", "events": [
                {"introduced": "0"}, {"fixed": "1.0.1"}, {"introduced": "2.0.0"}, {"last_affected": "2.0.5"}]}]},
              {"package": {"ecosystem": "npm", "name": "left-pad"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]},
              {"package": {"ecosystem": "NuGet", "name": "B"}, "versions": ["3.0.0"]}],
             "references": [{"type": "WEB", "url": "https://web"}, {"type": "ADVISORY", "url": "https://adv"}],
             "database_specific": {"severity": "CRITICAL"}}
            """
        let github = """
            [{"ghsa_id": "GHSA-2", "html_url": "https://github.com/advisories/GHSA-2", "severity": "low",
              "vulnerabilities": [{"package": {"ecosystem": "nuget", "name": "C"}, "vulnerable_version_range": ">= 1.0, < 1.5"}]}]
            """
        try Data(osv.utf8).write(to: dir.appendingPathComponent("osv.json"))
        try Data(github.utf8).write(to: dir.appendingPathComponent("gh.json"))
        let p = try FeedPolicy.parse(
            Data(#"{"advisories": ["osv.json", "gh.json"]}"#.utf8), file: "shelf.json", folder: dir.path)
        let rows = p.vulnerabilities.map {
            "\($0.pattern) \($0.versions.normalizedString) \($0.advisory.advisoryURL) \($0.advisory.severity.name)"
        }
        #expect(
            rows == [
                "A (, 1.0.1) https://adv critical", "A [2.0.0, 2.0.5] https://adv critical",
                "B [3.0.0] https://adv critical",
                "C [1.0.0, 1.5.0) https://github.com/advisories/GHSA-2 low",
            ])
        #expect(throws: PolicyError.self) {
            _ = try FeedPolicy.parse(
                Data(#"{"advisories": ["missing.json"]}"#.utf8), file: "shelf.json", folder: dir.path)
        }
    }
}
