import Foundation
import ShelfTestSupport
import Testing

/// `shelf push` and `shelf delete` on a folder that holds a feed, through the real binary: after
/// any sequence of pushes, deletes and policy changes the folder holds exactly what `shelf build`
/// of the same packages, step by step, writes (its catalog history included); eight pushes at
/// once all land; a push killed anywhere leaves a feed that passes the checks, and pushing again
/// completes it; bad input changes nothing.
@Suite(.serialized)
struct PushTests {
    static let baseURL = "https://feed.example.com/nuget/"
    static let generator = Repo.root.appendingPathComponent("scripts/generate-feed.py").path

    /// A feed built from some packages of a generated pool, the rest left to push.
    struct Setup {
        let tmp: TemporaryFolder
        /// What `shelf build` reads (kept as the pushed feed's packages should be).
        let input: String
        /// The reference, built from `input` after every step.
        let built: String
        /// The feed pushes go to.
        let pushed: String
        /// Packages not in the feed yet, by file name.
        var pool: [String]

        init(versions: Int, seed: Int, initially: Int) throws {
            tmp = try TemporaryFolder()
            let all = tmp.sub("pool")
            #expect(
                try python([PushTests.generator, all, "--versions", String(versions), "--seed", String(seed)]).status
                    == 0)
            input = tmp.sub("in")
            try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
            let names = try FileManager.default.contentsOfDirectory(atPath: all).filter { $0.hasSuffix(".nupkg") }
                .sorted()
            pool = names.map { all + "/" + $0 }
            for path in pool.prefix(initially) {
                try FileManager.default.copyItem(
                    atPath: path, toPath: input + "/" + (path as NSString).lastPathComponent)
            }
            pool.removeFirst(initially)
            built = tmp.sub("built")
            pushed = tmp.sub("pushed")
            for out in [built, pushed] {
                let r = try shelf(["build", input, "--out", out, "--base-url", PushTests.baseURL, "--quiet"])
                #expect(r.status == 0, "\(r.stderr)")
            }
        }

        /// Builds the reference again and expects the pushed feed to be the same, file for file.
        func expectSame(_ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let r = try shelf(["build", input, "--out", built, "--base-url", PushTests.baseURL, "--quiet"])
            #expect(r.status == 0 || r.status == 2, "\(r.stderr)", sourceLocation: sourceLocation)
            let a = try snapshot(pushed) { $0.hasPrefix(".shelf/") }
            let b = try snapshot(built) { $0.hasPrefix(".shelf/") }
            let differ =
                Set(a.keys).symmetricDifference(b.keys).sorted()
                + a.keys.filter { b[$0] != nil && a[$0] != b[$0] }.sorted()
            #expect(differ.isEmpty, "\(step): \(differ.prefix(8))", sourceLocation: sourceLocation)
        }
    }

    @Test("pushes, deletes and policy changes, 30 random steps: the pushed feed is the built one after each")
    func sequence() throws {
        var s = try Setup(versions: 90, seed: 31, initially: 40)
        defer { s.tmp.cleanup() }
        var rng = SeededRandom(seed: 7)
        var policyVersion = 0
        for step in 0..<30 {
            let roll = rng.below(10)
            if roll < 5, !s.pool.isEmpty {
                // Push one to three packages.
                let n = min(s.pool.count, 1 + rng.below(3))
                let files = Array(s.pool.prefix(n))
                s.pool.removeFirst(n)
                let r = try shelf(["push"] + files + [s.pushed, "--quiet"])
                #expect(r.status == 0, "step \(step): \(r.stderr)")
                for f in files {
                    try FileManager.default.copyItem(
                        atPath: f, toPath: s.input + "/" + (f as NSString).lastPathComponent)
                }
                try s.expectSame("step \(step): pushed \(files.map { ($0 as NSString).lastPathComponent })")
            } else if roll < 8 {
                // Delete a version the feed has.
                let names = try FileManager.default.contentsOfDirectory(atPath: s.input).filter {
                    $0.hasSuffix(".nupkg")
                }.sorted()
                guard !names.isEmpty else { continue }
                let name = names[rng.below(names.count)]
                let (id, version) = try Self.identity(s.input + "/" + name)
                let r = try shelf(["delete", id, version, s.pushed, "--quiet"])
                #expect(r.status == 0, "step \(step): \(r.stderr)")
                try FileManager.default.removeItem(atPath: s.input + "/" + name)
                try s.expectSame("step \(step): deleted \(id) \(version)")
            } else {
                // A policy: unlist and deprecate versions of a few ids, owners for all.
                policyVersion += 1
                let names = try FileManager.default.contentsOfDirectory(atPath: s.input).filter {
                    $0.hasSuffix(".nupkg")
                }.sorted()
                let picked = (0..<3).map { _ in try? Self.identity(s.input + "/" + names[rng.below(names.count)]) }
                    .compactMap { $0 }
                var byId: [String: [String]] = [:]
                for (id, version) in picked where !(byId[id] ?? []).contains(version) {
                    byId[id, default: []].append(version)
                }
                let unlisted = byId.keys.sorted().map { id in
                    "\"\(id)\": [" + byId[id]!.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
                }.joined(separator: ", ")
                let policy = """
                    { "owners": { "Synthetic.*": ["team-\(policyVersion)"] },
                      "unlisted": { \(unlisted) },
                      "deprecations": [{ "id": "\(picked.first?.0 ?? "Nothing")", "reasons": ["Legacy"] }] }
                    """
                try policy.write(toFile: s.input + "/shelf.json", atomically: true, encoding: .utf8)
                let copy = s.tmp.sub("policy-\(policyVersion)") + "/shelf.json"
                try FileManager.default.createDirectory(
                    atPath: (copy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try policy.write(toFile: copy, atomically: true, encoding: .utf8)
                let r = try shelf(["push", "--policy", copy, s.pushed, "--quiet"])
                #expect(r.status == 0, "step \(step): \(r.stderr)")
                try s.expectSame("step \(step): policy \(policyVersion)")
            }
        }
        let check = try checkFeed(
            s.pushed, baseURL: Self.baseURL, extra: ["--local-folder", s.pushed + "/flatcontainer"])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test(
        "a version already there: exit 3 and nothing changed, or left as it is with --skip-duplicate; a bad package: exit 2, the rest pushed; a missing version to delete: exit 3"
    )
    func refusals() throws {
        var s = try Setup(versions: 20, seed: 32, initially: 10)
        defer { s.tmp.cleanup() }
        let before = try snapshot(s.pushed)
        let present = try FileManager.default.contentsOfDirectory(atPath: s.input).filter { $0.hasSuffix(".nupkg") }
            .sorted()[0]
        let duplicate = try shelf(["push", s.input + "/" + present, s.pushed])
        #expect(duplicate.status == 3, "\(duplicate.stderr)")
        #expect(duplicate.stderr.contains("is already in the feed"), "\(duplicate.stderr)")
        #expect(
            try snapshot(s.pushed).filter { !$0.key.hasPrefix(".shelf/") }
                == before.filter { !$0.key.hasPrefix(".shelf/") })
        let skipped = try shelf(["push", s.input + "/" + present, s.pushed, "--skip-duplicate", "--quiet"])
        #expect(skipped.status == 0, "\(skipped.stderr)")

        let bad = s.tmp.sub("bad") + ".nupkg"
        try Data("not a zip".utf8).write(to: URL(fileURLWithPath: bad))
        let good = s.pool.removeFirst()
        let mixed = try shelf(["push", bad, good, s.pushed, "--quiet"])
        #expect(mixed.status == 2, "\(mixed.stderr)")
        #expect(mixed.stderr.contains("bad.nupkg"), "\(mixed.stderr)")
        try FileManager.default.copyItem(atPath: good, toPath: s.input + "/" + (good as NSString).lastPathComponent)
        try s.expectSame("a bad package and a good one")

        let missing = try shelf(["delete", "Synthetic.Nothing.Here", "1.0.0", s.pushed, "--quiet"])
        #expect(missing.status == 3, "\(missing.stderr)")
        try s.expectSame("a delete of a missing version")

        // A folder that holds no feed.
        let empty = s.tmp.sub("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let none = try shelf(["push", good, empty])
        #expect(none.status == 1 && none.stderr.contains("holds no Shelf feed"), "\(none.stderr)")
    }

    @Test(
        "records someone else wrote: a policy name leaving the state folder and a version climbing out are refused; a damaged package record is read back"
    )
    func hostileRecords() throws {
        var s = try Setup(versions: 30, seed: 36, initially: 20)
        defer { s.tmp.cleanup() }
        let optionsPath = s.pushed + "/.shelf/build.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: optionsPath))
        var options = try JSONSerialization.jsonObject(with: original) as! [String: Any]

        // A policy "name" that would write beside the pusher's files.
        let escape = s.tmp.sub("escaped")
        options["policy"] = "../../../../../../../../\(escape.dropFirst())/PWNED.txt"
        try JSONSerialization.data(withJSONObject: options).write(to: URL(fileURLWithPath: optionsPath))
        let file = s.pool.removeFirst()
        let refused = try shelf(["push", file, s.pushed, "--quiet"])
        #expect(refused.status == 1 && refused.stderr.contains("not a file of the feed"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: escape + "/PWNED.txt"))
        try original.write(to: URL(fileURLWithPath: optionsPath))
        try s.expectSame("after a refused push")

        // A damaged package record (a huge offset): the id's packages are read back from the feed.
        let (id, _) = try Self.identity(file)
        let record = s.pushed + "/.shelf/packages/\(id.lowercased()).bin"
        if FileManager.default.fileExists(atPath: record) {
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: record)))
            for i in stride(from: bytes.count - 16, to: bytes.count, by: 1) { bytes[i] = 0x7F }
            try Data(bytes).write(to: URL(fileURLWithPath: record))
        }
        let pushed = try shelf(["push", file, s.pushed, "--quiet"])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        try FileManager.default.copyItem(atPath: file, toPath: s.input + "/" + (file as NSString).lastPathComponent)
        try s.expectSame("a push over a damaged package record")

        // A flat container index naming a version that climbs out, with no record to trust.
        let lower = id.lowercased()
        try? FileManager.default.removeItem(atPath: s.pushed + "/.shelf/packages/\(lower).bin")
        let index = s.pushed + "/flatcontainer/\(lower)/index.json"
        try Data(#"{"versions":["../../../../etc"]}"#.utf8).write(to: URL(fileURLWithPath: index))
        let climbing = try shelf(["delete", id, "1.0.0", s.pushed, "--quiet"])
        #expect(climbing.status == 1 && climbing.stderr.contains("not a file of the feed"), "\(climbing.stderr)")
    }

    @Test(
        "eight pushes started together: every package lands, each once in the catalog, and the feed passes the checks")
    func concurrentPushes() throws {
        var s = try Setup(versions: 40, seed: 33, initially: 20)
        defer { s.tmp.cleanup() }
        let files = Array(s.pool.prefix(8))
        let statuses = try StartedTogether(
            Repo.shelf, files.map { ["push", $0, s.pushed, "--quiet", "--wait", "120"] }
        )
        .wait().map(\.status)
        #expect(statuses.allSatisfy { $0 == 0 }, "\(statuses)")
        for f in files {
            try FileManager.default.copyItem(atPath: f, toPath: s.input + "/" + (f as NSString).lastPathComponent)
        }
        // Each version once in the catalog: as many PackageDetails as versions.
        let items = try DiscoveryTests.catalogItems(s.pushed, baseURL: Self.baseURL)
        var seen: [String: Int] = [:]
        for item in items where item["@type"] as? String == "nuget:PackageDetails" {
            seen["\(item["nuget:id"] ?? "")/\(item["nuget:version"] ?? "")", default: 0] += 1
        }
        let inputCount = try FileManager.default.contentsOfDirectory(atPath: s.input).filter { $0.hasSuffix(".nupkg") }
            .count
        #expect(seen.count == inputCount && seen.values.allSatisfy { $0 == 1 }, "\(seen.filter { $0.value != 1 })")
        // The order the pushes took is not known: the same feed as a build, but for the history.
        let fresh = s.tmp.sub("fresh")
        #expect(try shelf(["build", s.input, "--out", fresh, "--base-url", Self.baseURL, "--quiet"]).status == 0)
        #expect(try historyFreeSnapshot(s.pushed) == (try historyFreeSnapshot(fresh)))
        let check = try checkFeed(
            s.pushed, baseURL: Self.baseURL,
            extra: ["--local-folder", s.pushed + "/flatcontainer", "--nupkgs", s.input])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("SIGKILL at 20 random points of pushes: the feed passes the checks after each; pushing again completes it")
    func killedPushes() throws {
        var s = try Setup(versions: 70, seed: 34, initially: 30)
        defer { s.tmp.cleanup() }
        // How long a push takes here, now.
        let probe = s.pool.removeFirst()
        let start = Date()
        #expect(try shelf(["push", probe, s.pushed, "--quiet"]).status == 0)
        let duration = max(Date().timeIntervalSince(start) * 0.9, 0.05)
        try FileManager.default.copyItem(atPath: probe, toPath: s.input + "/" + (probe as NSString).lastPathComponent)
        var rng = SeededRandom(seed: 99)
        var killedMidway = 0
        for trial in 0..<20 {
            let file = s.pool.removeFirst()
            let delay = Double(rng.below(1000)) / 1000 * duration
            if try killShelf(["push", file, s.pushed, "--quiet"], after: delay) { killedMidway += 1 }
            let check = try checkFeed(
                s.pushed, baseURL: Self.baseURL, extra: ["--local-folder", s.pushed + "/flatcontainer"])
            #expect(check.errors == 0, "trial \(trial) after \(delay) s: \(check.output)")
            if trial % 2 == 1 {
                // Another package first: the killed push's ids are put back as they were.
                let other = s.pool.removeFirst()
                #expect(try shelf(["push", other, s.pushed, "--quiet"]).status == 0)
                try FileManager.default.copyItem(
                    atPath: other, toPath: s.input + "/" + (other as NSString).lastPathComponent)
                let after = try checkFeed(
                    s.pushed, baseURL: Self.baseURL, extra: ["--local-folder", s.pushed + "/flatcontainer"])
                #expect(after.errors == 0, "trial \(trial), another push after the kill: \(after.output)")
            }
            // Pushing again completes it (or finds it there already).
            let again = try shelf(["push", file, s.pushed, "--quiet", "--skip-duplicate"])
            #expect(again.status == 0, "trial \(trial): \(again.stderr)")
            try FileManager.default.copyItem(atPath: file, toPath: s.input + "/" + (file as NSString).lastPathComponent)
            if check.errors != 0 { break }
        }
        #expect(killedMidway >= 8, "most kills should land while the push runs (\(killedMidway) of 20)")
        // After kills the history may hold items the reference never made: compare without it.
        let fresh = s.tmp.sub("fresh")
        #expect(try shelf(["build", s.input, "--out", fresh, "--base-url", Self.baseURL, "--quiet"]).status == 0)
        let a = try historyFreeSnapshot(s.pushed)
        let b = try historyFreeSnapshot(fresh)
        #expect(a.keys.sorted() == b.keys.sorted())
        #expect(
            a.filter { b[$0.key] != $0.value }.keys.sorted().isEmpty,
            "\(a.filter { b[$0.key] != $0.value }.keys.sorted().prefix(5))")
    }

    /// A package's id and version, from its nuspec.
    static func identity(_ path: String) throws -> (String, String) {
        let r = try python([
            "-c",
            "import re,sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); t=z.read([n for n in z.namelist() if n.endswith('.nuspec')][0]).decode(); print(re.search('<id>(.*?)</id>',t).group(1)); print(re.search('<version>(.*?)</version>',t).group(1))",
            path,
        ])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        return (lines.first ?? "", lines.dropFirst().first ?? "")
    }
}

/// Pushes the official client reads, and the policy's refusals on a push.
@Suite(.serialized)
struct PushClientTests {
    @Test(
        "four pushes at once to a folder served by nginx: the official client reads it over HTTP and as a local folder, and restores"
    )
    func officialClient() throws {
        guard RealClientTests.available() else { return }
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let port = try freePort()
        let base = "http://127.0.0.1:\(port)/"
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        let later = [
            "Shelf.Sample.Extensions.1.0.0.nupkg", "Shelf.Sample.Analyzers.1.0.0.nupkg",
            "Shelf.Sample.Core.2.0.0.nupkg",
            "Shelf.Sample.Legacy.1.2.3.4.nupkg",
        ]
        for name in try FileManager.default.contentsOfDirectory(atPath: Repo.sampleFeed)
        where name.hasSuffix(".nupkg") && !later.contains(name) {
            try FileManager.default.copyItem(atPath: Repo.sampleFeed + "/" + name, toPath: input + "/" + name)
        }
        let out = tmp.sub("feed")
        let built = try shelf(["build", input, "--out", out, "--base-url", base, "--host", "nginx", "--quiet"])
        #expect(built.status == 0, "\(built.stderr)")
        let statuses = try StartedTogether(
            Repo.shelf, later.map { ["push", Repo.sampleFeed + "/" + $0, out, "--quiet", "--wait", "120"] }
        ).wait().map(\.status)
        #expect(statuses.allSatisfy { $0 == 0 }, "\(statuses)")
        let server = try HostingTests.Nginx(feed: out, port: port, scratch: tmp.sub("nginx"))
        defer { server.stop() }
        let r = try run(
            "/usr/bin/timeout",
            [
                "600", RealClientTests.nugetcheck, base + "index.json", "--local", out + "/flatcontainer", "--restore",
                "Shelf.Sample.Extensions@1.0.0",
            ])
        let last = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        print("the official NuGet client on a folder after four pushes at once: \(last)")
        #expect(
            r.status == 0 && last.hasSuffix(" 0 failed"),
            "\(r.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }.prefix(10))")
    }

    @Test("a pushed package that breaks a prefix reservation is refused (exit 2) and the feed is as it was")
    func reservedPrefix() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Repo.sampleFeed + "/Shelf.Sample.Core.1.0.0.nupkg", toPath: input + "/Shelf.Sample.Core.1.0.0.nupkg"
        )
        // Core declares no owners, so it is taken to be the prefix owner's; Extensions declares
        // the owner Shelf, who is not contoso.
        try #"{"reservedPrefixes": {"Shelf.Sample.": "contoso"}}"#.write(
            toFile: input + "/shelf.json", atomically: true, encoding: .utf8)
        let out = tmp.sub("feed")
        #expect(try shelf(["build", input, "--out", out, "--base-url", PushTests.baseURL, "--quiet"]).status == 0)
        let before = try snapshot(out) { $0.hasPrefix(".shelf/") }
        let r = try shelf(["push", Repo.sampleFeed + "/Shelf.Sample.Extensions.1.0.0.nupkg", out])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("reserved for contoso"), "\(r.stderr)")
        #expect(try snapshot(out) { $0.hasPrefix(".shelf/") } == before)
    }
}
