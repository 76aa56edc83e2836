import Foundation
import ShelfTestSupport
import Testing

/// Incremental builds give exactly the bytes of a full build: random sequences of add, replace
/// and remove, each step built incrementally in one folder and with `--full` in another that has
/// the same history; and, catalog history aside, the same as a fresh build of the same input.
@Suite(.serialized)
struct IncrementalTests {
    static let baseURL = "https://feed.example.com/"
    static let generator = Repo.root.appendingPathComponent("scripts/generate-feed.py").path

    static func build(_ input: String, _ out: String, full: Bool = false) throws -> [String: Any] {
        // Packages written in the last few milliseconds before a build are read again by the next
        // one ("racily clean"): the counts these tests expect are for files a moment older.
        Thread.sleep(forTimeInterval: 0.03)
        let r = try shelf(
            ["build", input, "--out", out, "--base-url", baseURL, "--json"] + (full ? ["--full"] : []))
        let report = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
        // Status 2: built, with packages skipped (a policy refused them); they are in the report.
        let skipped = (report["skipped"] as? [Any])?.isEmpty == false
        #expect(r.status == 0 || (r.status == 2 && skipped), "\(r.stderr)")
        return report
    }

    /// A policy for the generated ids that touches every kind of rule: one prefix whose ids are
    /// all refused (so ids leave and come back with the policy), unlisting, deprecation, a
    /// pattern advisory, retention, and an entry that matches nothing.
    static func policy(stable: Int) -> String {
        """
        {
          "owners": { "Synthetic.*": ["synth-team"] },
          "reservedPrefixes": { "Synthetic.Sql.": "sql-team" },
          "unlisted": { "Synthetic.Data.*": "[1.0.0, 1.0.1]", "Nothing.Matches": "1.0.0" },
          "deprecations": [{ "id": "Synthetic.Event.*", "reasons": ["Legacy"] }],
          "vulnerabilities": [
            { "id": "Synthetic.Format.*", "versions": "[1.0.0, )", "advisoryUrl": "https://example.com/a/1", "severity": "high" }
          ],
          "retention": { "stable": \(stable), "prerelease": 1 }
        }
        """
    }

    @Test(
        "random add, replace and remove: incremental == --full == fresh (catalog history aside); seed 2 with a policy that changes midway",
        arguments: [1, 2])
    func randomSequences(seed: UInt64) throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        // A pool of 80 generated packages; the input folder holds a changing subset.
        let pool = tmp.sub("pool")
        let made = try python([Self.generator, pool, "--versions", "80", "--seed", String(seed)])
        #expect(made.status == 0, "\(made.stderr)")
        let alternate = tmp.sub("alternate")
        _ = try python([Self.generator, alternate, "--versions", "80", "--seed", String(seed + 100)])
        let names = try FileManager.default.contentsOfDirectory(atPath: pool).sorted()
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        let fm = FileManager.default
        var rng = SeededRandom(seed: seed)
        for name in names where rng.below(2) == 0 {
            try fm.copyItem(atPath: pool + "/" + name, toPath: input + "/" + name)
        }
        let withPolicy = seed == 2
        if withPolicy {
            try Self.policy(stable: 3).write(toFile: input + "/shelf.json", atomically: true, encoding: .utf8)
        }

        let incremental = tmp.sub("incremental")
        let full = tmp.sub("full")
        for step in 0..<8 {
            if step > 0 {
                // 1 to 4 changes: add a package from the pool, remove one, or replace one with a
                // different file of the same name (other content, so another hash).
                if withPolicy && step == 4 {
                    try Self.policy(stable: 2).write(toFile: input + "/shelf.json", atomically: true, encoding: .utf8)
                }
                for _ in 0...rng.below(4) {
                    let present = try fm.contentsOfDirectory(atPath: input).filter { $0.hasSuffix(".nupkg") }.sorted()
                    let absent = names.filter { !present.contains($0) }
                    switch rng.below(3) {
                    case 0 where !absent.isEmpty:
                        let name = absent[rng.below(absent.count)]
                        try fm.copyItem(atPath: pool + "/" + name, toPath: input + "/" + name)
                    case 1 where present.count > 1:
                        try fm.removeItem(atPath: input + "/" + present[rng.below(present.count)])
                    default:
                        guard !present.isEmpty else { continue }
                        let name = present[rng.below(present.count)]
                        let replacements = try fm.contentsOfDirectory(atPath: alternate).sorted()
                        try fm.removeItem(atPath: input + "/" + name)
                        try fm.copyItem(
                            atPath: alternate + "/" + replacements[rng.below(replacements.count)],
                            toPath: input + "/" + name)
                    }
                }
            }
            let a = try Self.build(input, incremental)
            let f = try Self.build(input, full, full: true)
            // The report too: what the incremental build took from its records is what a full
            // build finds.
            for key in ["warnings", "skipped", "ids", "versions", "prunedByRetention"] {
                let x = try JSONSerialization.data(withJSONObject: ["v": a[key] ?? NSNull()], options: [.sortedKeys])
                let y = try JSONSerialization.data(withJSONObject: ["v": f[key] ?? NSNull()], options: [.sortedKeys])
                #expect(x == y, "step \(step): \(key) differs: \(a[key] ?? "-") vs \(f[key] ?? "-")")
            }
            let fresh = tmp.sub("fresh-\(step)")
            _ = try Self.build(input, fresh)
            let ignoreState: (String) -> Bool = { $0.hasPrefix(".shelf/") }
            let ia = try snapshot(incremental, excluding: ignoreState)
            let fa = try snapshot(full, excluding: ignoreState)
            #expect(Set(ia.keys) == Set(fa.keys), "step \(step): different files")
            let differing = ia.keys.filter { ia[$0] != fa[$0] }.sorted()
            #expect(differing.isEmpty, "step \(step): incremental differs from --full: \(differing.prefix(5))")
            // A fresh build has a catalog with a shorter history; everything else is the same.
            let ib = try historyFreeSnapshot(incremental)
            let fb = try historyFreeSnapshot(fresh)
            #expect(ib == fb, "step \(step): incremental differs from a fresh build")
            try fm.removeItem(atPath: fresh)
            if step > 0 {
                #expect((a["packagesOpened"] as? Int ?? 99) <= 8, "only changed packages are opened: \(a)")
            }
        }
        let check = try checkFeed(
            incremental, baseURL: Self.baseURL, extra: ["--local-folder", incremental + "/flatcontainer"])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("a package changed just before a build (racily clean) is not trusted by the next build's cache or no-op")
    func raciness() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        _ = try python([Self.generator, input, "--versions", "12"])
        let out = tmp.sub("feed")
        _ = try Self.build(input, out)
        // One package's modification time is set a minute ahead: for the builds that follow, it
        // changed "just now", so a same-tick rewrite could hide behind its identity.
        let name = try FileManager.default.contentsOfDirectory(atPath: input).filter { $0.hasSuffix(".nupkg") }
            .sorted()[3]
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(60)], ofItemAtPath: input + "/" + name)
        let changed = try Self.build(input, out)
        #expect(changed["packagesOpened"] as? Int == 1)
        // Not a no-op: the package is read again (its bytes are the same, so nothing is written).
        let again = try Self.build(input, out)
        #expect(again["nothingChanged"] as? Bool != true)
        #expect(again["packagesOpened"] as? Int == 1)
        #expect(again["filesWritten"] as? Int == 0)
    }

    @Test("a no-op rebuild reads nothing; one new package opens one file and renders one id")
    func noOpAndAddOne() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        _ = try python([Self.generator, input, "--versions", "60"])
        let out = tmp.sub("feed")
        _ = try Self.build(input, out)
        let noop = try Self.build(input, out)
        #expect(noop["nothingChanged"] as? Bool == true)
        #expect(noop["filesWritten"] as? Int == 0)
        _ = try python([Self.generator, input, "--versions", "1", "--start", "60"])
        let added = try Self.build(input, out)
        #expect(added["packagesOpened"] as? Int == 1)
        #expect(added["idsRendered"] as? Int == 1)
        // A damaged state: a note and a correct, complete rebuild.
        for folder in ["ids", "read-cache"] {
            for n in 0..<64 {
                let shard = out + "/.shelf/\(folder)/\(n < 10 ? "0" : "")\(n).bin"
                if FileManager.default.fileExists(atPath: shard) {
                    try Data("garbage".utf8).write(to: URL(fileURLWithPath: shard))
                }
            }
        }
        let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--json"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("is damaged"), "\(r.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(summary?["packagesOpened"] as? Int == 61)
        let fresh = tmp.sub("fresh")
        _ = try Self.build(input, fresh)
        #expect(try historyFreeSnapshot(out) == (try historyFreeSnapshot(fresh)))

        // A build killed midway left a file it had recorded in its journal: the next build,
        // which does not produce that file, removes it; a file Shelf never wrote stays.
        let ghost = "flatcontainer/ghost.package/1.0.0/ghost.package.1.0.0.nupkg"
        try FileManager.default.createDirectory(
            atPath: out + "/flatcontainer/ghost.package/1.0.0", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: out + "/" + ghost))
        try Data("y".utf8).write(to: URL(fileURLWithPath: out + "/not-shelfs.txt"))
        try Data((ghost + "\n").utf8).write(to: URL(fileURLWithPath: out + "/.shelf/journal.txt"))
        _ = try Self.build(input, out)
        #expect(!FileManager.default.fileExists(atPath: out + "/" + ghost))
        #expect(FileManager.default.fileExists(atPath: out + "/not-shelfs.txt"))
        #expect(!FileManager.default.fileExists(atPath: out + "/.shelf/journal.txt"))
    }
}
