import Foundation
import ShelfTestSupport
import Testing

/// Runs the real `shelf` binary on SampleFeed/, on the fixtures (real published packages kept with
/// the repository) and, when `../shared` is there, on the whole public corpus; then checks the
/// output with `shelf validate` and the feed's own bytes, on disk, as a local-folder source and over
/// HTTP (and with `feedcheck.py` too when `../shared` is there).
@Suite(.serialized)
struct BuildTests {
    static let baseURL = "http://127.0.0.1:8080/"

    @Test("SampleFeed builds cleanly and passes feedcheck, also as a local folder and over HTTP")
    func sampleFeed() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let out = tmp.sub("feed")
        let r = try shelf(["build", Repo.sampleFeed, "--out", out, "--base-url", Self.baseURL, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "--quiet prints nothing on success: \(r.stderr)")
        let disk = try checkFeed(
            out, baseURL: Self.baseURL,
            extra: ["--nupkgs", Repo.sampleFeed, "--local-folder", out + "/flatcontainer", "--strict-paging"])
        #expect(disk.errors == 0, "\(disk.output)")
        let server = try StaticServer(serving: out)
        defer { server.stop() }
        let http = try checkFeed(
            out, baseURL: Self.baseURL, extra: ["--nupkgs", Repo.sampleFeed, "--http", server.url])
        #expect(http.errors == 0, "\(http.output)")
    }

    /// The files of a manifest (fixtures or corpus) whose row has no id: the broken inputs.
    static func brokenFiles(_ manifest: String) throws -> Set<String> {
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        var broken = Set<String>()
        for line in text.split(separator: "\n").dropFirst() {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false)
            if cols.count > 2, cols[1].isEmpty, !cols[0].lowercased().hasSuffix(".snupkg") {
                broken.insert(String(cols[0]))
            }
        }
        return broken
    }

    /// Builds a folder of real packages and checks that every readable package is in the feed,
    /// that exactly the broken ones are reported (one line each), and that the feed holds up.
    static func realPackages(_ folder: String, manifest: String, ids: Int, versions: Int) throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let out = tmp.sub("feed")
        let r = try shelf(["build", folder, "--out", out, "--base-url", Self.baseURL, "--json"])
        #expect(r.status == 2, "some input is skipped, so the status is 2: \(r.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let skipped = (summary?["skipped"] as? [[String: String]]) ?? []
        let skippedFiles = Set(skipped.compactMap { $0["file"] })
        #expect(skippedFiles == (try Self.brokenFiles(manifest)))
        #expect(skipped.count == skippedFiles.count, "one line per bad package")
        // One line per bad package on standard error, naming the file.
        let errorLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errorLines.count == skippedFiles.count)
        for f in skippedFiles { #expect(errorLines.contains { $0.hasPrefix("error: \(f): ") }) }
        #expect(summary?["ids"] as? Int == ids)
        #expect(summary?["versions"] as? Int == versions)

        let disk = try checkFeed(
            out, baseURL: Self.baseURL,
            extra: ["--nupkgs", folder, "--local-folder", out + "/flatcontainer", "--strict-paging"])
        #expect(disk.errors == 0, "\(disk.output)")
        let server = try StaticServer(serving: out)
        defer { server.stop() }
        let http = try checkFeed(out, baseURL: Self.baseURL, extra: ["--nupkgs", folder, "--http", server.url])
        #expect(http.errors == 0, "\(http.output)")
    }

    @Test("the fixtures: every readable package is in the feed, exactly the broken ones are reported")
    func fixtures() throws {
        try Self.realPackages(Repo.fixtures, manifest: Repo.fixturesManifest, ids: 36, versions: 172)
    }

    @Test("the fixtures are the manifest's files, with its hashes (scripts/gather-fixtures.py --check)")
    func fixturesManifest() throws {
        let r = try python([Repo.root.appendingPathComponent("scripts/gather-fixtures.py").path, "--check"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    }

    @Test("the public corpus (../shared): every readable package is in the feed, exactly the broken ones are reported")
    func corpus() throws {
        guard FileManager.default.fileExists(atPath: Repo.corpus) else {
            Skipped.say(
                "the public corpus", "\(Repo.corpus) is not there (../shared is beside our checkouts and CI only)")
            return
        }
        try Self.realPackages(Repo.corpus, manifest: Repo.corpusManifest, ids: 284, versions: 362)
    }

    @Test("the same input gives byte-identical output, whatever the file order and file times")
    func determinism() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let fm = FileManager.default
        var names = try fm.contentsOfDirectory(atPath: Repo.sampleFeed).filter { $0.hasSuffix(".nupkg") }.sorted()
        names += try fm.contentsOfDirectory(atPath: Repo.fixtures).sorted()
        // Copy A in one order with old times, copy B in the reverse order with new times.
        for (folder, order, time) in [
            ("a", names, Date(timeIntervalSince1970: 1_000_000_000)), ("b", names.reversed(), Date()),
        ] {
            let dir = tmp.sub(folder)
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for name in order {
                let src = (name.hasPrefix("Shelf.Sample.") ? Repo.sampleFeed : Repo.fixtures) + "/" + name
                try fm.copyItem(atPath: src, toPath: dir + "/" + name)
                try fm.setAttributes([.modificationDate: time], ofItemAtPath: dir + "/" + name)
            }
        }
        _ = try shelf(["build", tmp.sub("a"), "--out", tmp.sub("out-a"), "--base-url", Self.baseURL, "--quiet"])
        _ = try shelf([
            "build", tmp.sub("b"), "--out", tmp.sub("out-b"), "--base-url", Self.baseURL, "--quiet", "--jobs", "1",
        ])
        // `.shelf/` is Shelf's own record of the input files (their inodes and times), never served.
        let a = try snapshot(tmp.sub("out-a")) { $0.hasPrefix(".shelf/") }
        let b = try snapshot(tmp.sub("out-b")) { $0.hasPrefix(".shelf/") }
        #expect(a.count > 100)
        #expect(Set(a.keys) == Set(b.keys))
        let differing = a.keys.filter { a[$0] != b[$0] }.sorted()
        #expect(differing.isEmpty, "files differ: \(differing.prefix(5))")
        // No machine path and no clock in the feed.
        for (path, data) in a where path.hasSuffix(".json") {
            let text = String(decoding: data, as: UTF8.self)
            #expect(!text.contains(tmp.path), "\(path) holds a machine path")
        }
    }

    @Test("a rebuild writes nothing when nothing changed, and a removed package leaves the feed")
    func rebuild() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        try FileManager.default.copyItem(atPath: Repo.sampleFeed, toPath: input)
        let out = tmp.sub("feed")
        let first = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--json"])
        #expect(first.status == 0)
        let second = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--json"])
        let s2 = try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any]
        #expect(s2?["filesWritten"] as? Int == 0)
        #expect(s2?["filesRemoved"] as? Int == 0)

        try FileManager.default.removeItem(atPath: input + "/Shelf.Sample.Preview.0.9.0-alpha.nupkg")
        let third = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--json"])
        let s3 = try JSONSerialization.jsonObject(with: Data(third.stdout.utf8)) as? [String: Any]
        #expect((s3?["filesRemoved"] as? Int ?? 0) > 0)
        #expect(!FileManager.default.fileExists(atPath: out + "/flatcontainer/shelf.sample.preview"))
        #expect(!FileManager.default.fileExists(atPath: out + "/registration-semver2/shelf.sample.preview"))
        let check = try checkFeed(
            out, baseURL: Self.baseURL, extra: ["--nupkgs", input, "--local-folder", out + "/flatcontainer"])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("bad packages are reported in one line each and the rest is built; status 2")
    func badPackages() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        try FileManager.default.copyItem(atPath: Repo.sampleFeed, toPath: input)
        let bad: [String: Data] = [
            "notzip.1.0.0.nupkg": Data("this is not a zip".utf8),
            "empty.1.0.0.nupkg": Data(),
            "truncated.1.0.0.nupkg": try Data(
                contentsOf: URL(fileURLWithPath: Repo.sampleFeed + "/Shelf.Sample.Legacy.1.2.3.4.nupkg")
            ).prefix(300),
        ]
        for (name, data) in bad { try data.write(to: URL(fileURLWithPath: input + "/" + name)) }
        let out = tmp.sub("feed")
        let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--quiet"])
        #expect(r.status == 2)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == bad.count, "\(r.stderr)")
        for name in bad.keys { #expect(lines.contains { $0.hasPrefix("error: \(name): ") }) }
        let check = try checkFeed(out, baseURL: Self.baseURL, extra: ["--nupkgs", input])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("Zip64 packages and UTF-16 nuspecs are read; a DOCTYPE is refused")
    func zip64AndUTF16() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        let script = """
            import sys, zipfile
            d = sys.argv[1]
            def nuspec(pid, enc="utf-8"):
                return f'<?xml version="1.0" encoding="{enc}"?><package><metadata><id>{pid}</id><version>1.0.0</version><authors>a</authors><description>d</description></metadata></package>'
            with zipfile.ZipFile(d + "/Utf16.Pkg.1.0.0.nupkg", "w") as z:
                z.writestr("Utf16.Pkg.nuspec", nuspec("Utf16.Pkg", "utf-16").encode("utf-16"))
            with zipfile.ZipFile(d + "/Zip64.Pkg.1.0.0.nupkg", "w", zipfile.ZIP_DEFLATED) as z:
                with z.open("Zip64.Pkg.nuspec", "w", force_zip64=True) as f:
                    f.write(nuspec("Zip64.Pkg").encode())
                with z.open("lib/net45/a.dll", "w", force_zip64=True) as f:
                    f.write(b"x" * 100000)
            with zipfile.ZipFile(d + "/Doctype.Pkg.1.0.0.nupkg", "w") as z:
                z.writestr("Doctype.Pkg.nuspec", '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x "Doctype.Pkg">]><package><metadata><id>&x;</id><version>1.0.0</version></metadata></package>')
            """
        let gen = try python(["-c", script, input])
        #expect(gen.status == 0, "\(gen.stderr)")
        let out = tmp.sub("feed")
        let r = try shelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--quiet"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: Doctype.Pkg.1.0.0.nupkg: the nuspec has a DOCTYPE"), "\(r.stderr)")
        for id in ["utf16.pkg", "zip64.pkg"] {
            #expect(FileManager.default.fileExists(atPath: "\(out)/flatcontainer/\(id)/1.0.0/\(id).1.0.0.nupkg.sha512"))
        }
    }

    @Test("a missing input folder fails with status 1 and a clear message")
    func missingInput() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let r = try shelf(["build", tmp.sub("nope"), "--out", tmp.sub("feed"), "--base-url", Self.baseURL])
        #expect(r.status == 1)
        #expect(r.stderr.contains("does not exist"))
        #expect(!FileManager.default.fileExists(atPath: tmp.sub("feed") + "/index.json"))
    }

    @Test("a bad --base-url is refused before anything is written")
    func badBaseURL() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let r = try shelf(["build", Repo.sampleFeed, "--out", tmp.sub("feed"), "--base-url", "feed.example.com"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--base-url"))
        #expect(!FileManager.default.fileExists(atPath: tmp.sub("feed")))
    }
}
