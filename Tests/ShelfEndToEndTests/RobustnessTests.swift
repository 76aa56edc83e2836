import Foundation
import ShelfTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile and broken input, builds killed at random points, two builds at once, a full disk and
/// a folder the build may not write: each ends with a clear message and a feed a client can use.
@Suite(.serialized)
struct RobustnessTests {
    static let baseURL = "https://feed.example.com/"
    static let hostileMaker = Repo.root.appendingPathComponent("scripts/make-hostile-input.py").path
    static let generator = Repo.root.appendingPathComponent("scripts/generate-feed.py").path

    /// `shelf` bounded in time: a build that hangs on a crafted file fails the test.
    static func boundedShelf(_ arguments: [String], seconds: Int = 120) throws -> ProcessResult {
        try run("/usr/bin/timeout", ["-s", "KILL", String(seconds), Repo.shelf] + arguments)
    }

    @Test("hostile zips, nuspecs and input files: one error line each, the rest is built, nothing escapes")
    func hostileInput() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        let made = try python([Self.hostileMaker, input])
        #expect(made.status == 0, "\(made.stderr)")
        let expected = try String(contentsOfFile: input + "/expected.tsv", encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: "\t", maxSplits: 1).map(String.init) }
        #expect(expected.count >= 40)

        let out = tmp.sub("out")
        let r = try Self.boundedShelf(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(r.status == 2, "some input is skipped, so the status is 2: \(r.stderr)")
        let lines = r.stderr.split(separator: "\n").map(String.init)
        for row in expected {
            let (file, expect) = (row[0], row[1])
            let errors = lines.filter { $0.hasPrefix("error: \(file): ") }
            let warnings = lines.filter { $0.hasPrefix("warning: \(file): ") }
            switch expect.first {
            case "-":
                #expect(errors.isEmpty && warnings.isEmpty, "\(file) is read normally: \(errors + warnings)")
            case "+":
                #expect(errors.isEmpty, "\(file) is served: \(errors)")
                #expect(
                    warnings.count == 1 && warnings[0].contains(expect.dropFirst()), "\(file): \(warnings)")
            default:
                #expect(errors.count == 1, "\(file): exactly one error line, got \(errors)")
                #expect(errors.first?.contains(expect) == true, "\(file): '\(expect)' in \(errors)")
            }
        }
        // Every line is one line: no message carries a raw newline or control character from a package.
        for line in lines {
            #expect(!line.contains("\r") && !line.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" })
        }
        // Nothing leaves the output folder: no file named by a hostile entry exists anywhere.
        let everything = try FileManager.default.subpathsOfDirectory(atPath: tmp.path)
        #expect(!everything.contains { $0.contains("evil") || $0.contains("secret") })
        let outside = try FileManager.default.contentsOfDirectory(atPath: tmp.path).sorted()
        #expect(outside == ["in", "out"])
        // The good packages are served, and the feed holds up.
        for id in ["good.one", "good.two", "hostile.payload", "hostile.backslash"] {
            #expect(FileManager.default.fileExists(atPath: out + "/flatcontainer/\(id)/index.json"), "\(id)")
        }
        let check = try checkFeed(out, baseURL: Self.baseURL, extra: ["--local-folder", out + "/flatcontainer"])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("a package file that changes while the build reads it is skipped with a message, then read next time")
    func changingInput() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        _ = try python([Self.generator, input, "--versions", "40", "--seed", "5"])
        let names = try FileManager.default.contentsOfDirectory(atPath: input).filter { $0.hasSuffix(".nupkg") }
            .sorted()
        let victim = input + "/" + names[0]
        let original = try Data(contentsOf: URL(fileURLWithPath: victim))
        // A writer keeps rewriting one file in place while the build runs.
        let stop = DataBox()
        let writer = Thread {
            var flip = false
            while stop.data.isEmpty {
                var bytes = original
                if flip { bytes.append(0) }
                flip.toggle()
                FileManager.default.createFile(atPath: victim, contents: bytes)
                usleep(200)
            }
        }
        writer.start()
        var sawChange = false
        for _ in 0..<10 {
            let r = try Self.boundedShelf([
                "build", input, "--out", tmp.sub("out"), "--base-url", Self.baseURL, "--no-site", "--full",
            ])
            #expect(r.status == 0 || r.status == 2, "\(r.stderr)")
            let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
            for line in lines {
                #expect(line.contains(names[0]), "only the rewritten file is affected: \(line)")
            }
            if lines.contains(where: { $0.contains("changed while it was being read") || $0.contains("changed after") })
            {
                sawChange = true
                break
            }
        }
        stop.data = Data([1])
        while writer.isExecuting { usleep(1000) }
        try original.write(to: URL(fileURLWithPath: victim))
        #expect(sawChange, "a file rewritten during ten builds was never caught changing")
        // Once the file is still, the next build reads it and the feed is complete.
        let r = try Self.boundedShelf([
            "build", input, "--out", tmp.sub("out"), "--base-url", Self.baseURL, "--no-site",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let check = try checkFeed(tmp.sub("out"), baseURL: Self.baseURL, extra: ["--nupkgs", input])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("SIGKILL at 50 random points: the feed behind index.json always passes feedcheck; the next build converges")
    func killedBuilds() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let inputA = tmp.sub("a")
        let inputB = tmp.sub("b")
        #expect(try python([Self.generator, inputA, "--versions", "120", "--seed", "11"]).status == 0)
        #expect(try python([Self.generator, inputB, "--versions", "120", "--seed", "12"]).status == 0)
        let out = tmp.sub("out")
        #expect(try Self.boundedShelf(["build", inputA, "--out", out, "--base-url", Self.baseURL]).status == 0)
        // How long a switch between the two inputs takes here, now (the machine may be busy with
        // other tests): the shorter of two, so that the kills land while builds run.
        var durations: [Double] = []
        for input in [inputB, inputA] {
            let start = Date()
            #expect(try Self.boundedShelf(["build", input, "--out", out, "--base-url", Self.baseURL]).status == 0)
            durations.append(Date().timeIntervalSince(start))
        }
        let duration = max((durations.min() ?? 0.2) * 0.9, 0.1)

        var rng = SeededRandom(seed: 2026)
        var killedMidway = 0
        for trial in 0..<50 {
            let input = trial % 2 == 0 ? inputB : inputA
            let delay = Double(rng.below(1000)) / 1000 * duration
            if try killShelf(["build", input, "--out", out, "--base-url", Self.baseURL, "--quiet"], after: delay) {
                killedMidway += 1
            }
            #expect(FileManager.default.fileExists(atPath: out + "/index.json"), "trial \(trial): index.json is gone")
            let check = try checkFeed(out, baseURL: Self.baseURL, extra: ["--local-folder", out + "/flatcontainer"])
            #expect(check.errors == 0, "trial \(trial) after \(delay) s: \(check.output)")
            if check.errors != 0 { break }
        }
        #expect(killedMidway >= 25, "most kills should land while the build runs (\(killedMidway) of 50)")

        // The next build converges: the same feed as a fresh build of the same input.
        #expect(try Self.boundedShelf(["build", inputB, "--out", out, "--base-url", Self.baseURL]).status == 0)
        let fresh = tmp.sub("fresh")
        #expect(try Self.boundedShelf(["build", inputB, "--out", fresh, "--base-url", Self.baseURL]).status == 0)
        let converged = try historyFreeSnapshot(out)
        let expected = try historyFreeSnapshot(fresh)
        #expect(converged.keys.sorted() == expected.keys.sorted())
        #expect(converged == expected)
        let check = try checkFeed(out, baseURL: Self.baseURL, extra: ["--nupkgs", inputB])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("an id leaving the feed takes only Shelf's files: a file someone else put in its folder stays")
    func foreignFilesStay() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let input = tmp.sub("in")
        try FileManager.default.createDirectory(atPath: input, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: Repo.sampleFeed) where name.hasSuffix(".nupkg")
        {
            try FileManager.default.copyItem(atPath: Repo.sampleFeed + "/" + name, toPath: input + "/" + name)
        }
        let out = tmp.sub("out")
        #expect(try Self.boundedShelf(["build", input, "--out", out, "--base-url", Self.baseURL]).status == 0)
        let foreign = out + "/flatcontainer/shelf.sample.legacy/NOTES.txt"
        try "mine".write(toFile: foreign, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: input + "/Shelf.Sample.Legacy.1.2.3.4.nupkg")
        #expect(try Self.boundedShelf(["build", input, "--out", out, "--base-url", Self.baseURL]).status == 0)
        #expect(FileManager.default.fileExists(atPath: foreign), "a file Shelf did not write is never removed")
        #expect(!FileManager.default.fileExists(atPath: out + "/flatcontainer/shelf.sample.legacy/index.json"))
    }

    @Test("two builds on one output folder: the second fails at once with a clear message; the first completes")
    func concurrentBuilds() throws {
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let out = tmp.sub("out")
        // An input large enough that its build runs for a while (a few seconds).
        let input = tmp.sub("in")
        #expect(try python([Self.generator, input, "--versions", "1500", "--seed", "51"]).status == 0)
        let first = Process()
        first.executableURL = URL(fileURLWithPath: Repo.shelf)
        first.arguments = ["build", input, "--out", out, "--base-url", Self.baseURL, "--quiet"]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        // Wait until the first build holds the lock (its state folder appears), then start a second.
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: out + "/.shelf/lock") { usleep(10_000) }
        usleep(100_000)
        #expect(first.isRunning, "the first build should still be running")
        let second = try Self.boundedShelf(["build", Repo.sampleFeed, "--out", out, "--base-url", Self.baseURL])
        // It failed without waiting for the lock: the first build still holds it.
        #expect(first.isRunning, "the second build fails at once, it does not wait for the first")
        #expect(second.status == 1)
        #expect(second.stderr.contains("another shelf build is writing to"), "\(second.stderr)")
        first.waitUntilExit()
        #expect(first.terminationStatus == 0, "the first build completes")
        let check = try checkFeed(out, baseURL: Self.baseURL, extra: ["--nupkgs", input])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("a full disk: a clear message, status 1, and the previous feed left intact")
    func diskFull() throws {
        guard geteuid() == 0 else {
            print("diskFull: skipped, mounting a small tmpfs needs root")
            return
        }
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        let inputA = tmp.sub("a")
        let inputB = tmp.sub("b")
        #expect(try python([Self.generator, inputA, "--versions", "30", "--seed", "21"]).status == 0)
        #expect(try python([Self.generator, inputB, "--versions", "90", "--seed", "22"]).status == 0)
        // How much room the first feed needs, measured on an ordinary folder.
        let probe = tmp.sub("probe")
        #expect(try Self.boundedShelf(["build", inputA, "--out", probe, "--base-url", Self.baseURL]).status == 0)
        let needed =
            try run("/usr/bin/du", ["-sk", probe]).stdout.split(separator: "\t").first.flatMap { Int($0) } ?? 0
        #expect(needed > 0)

        let disk = tmp.sub("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let mounted = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(needed * 3 / 2 + 512)k", "tmpfs", disk])
        guard mounted.status == 0 else {
            print("diskFull: skipped, cannot mount a tmpfs here: \(mounted.stderr)")
            return
        }
        defer { _ = try? run("/bin/umount", ["-l", disk]) }
        let out = disk + "/feed"
        #expect(try Self.boundedShelf(["build", inputA, "--out", out, "--base-url", Self.baseURL]).status == 0)
        let before = try snapshot(out, excluding: { $0.hasPrefix(".shelf/") })

        let r = try Self.boundedShelf(["build", inputB, "--out", out, "--base-url", Self.baseURL])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("No space left on device"), "\(r.stderr)")
        #expect(r.stderr.contains("previous feed is still served"), "\(r.stderr)")
        // What a client reaches through index.json is the previous feed, whole.
        let after = try snapshot(out, excluding: { $0.hasPrefix(".shelf/") })
        #expect(after["index.json"] == before["index.json"])
        let check = try checkFeed(out, baseURL: Self.baseURL, extra: ["--nupkgs", inputA])
        #expect(check.errors == 0, "\(check.output)")
        // Once there is room again, the build completes.
        _ = try run("/bin/mount", ["-o", "remount,size=\(needed * 8 + 4096)k", disk])
        let again = try Self.boundedShelf(["build", inputB, "--out", out, "--base-url", Self.baseURL])
        #expect(again.status == 0, "\(again.stderr)")
        let final = try checkFeed(out, baseURL: Self.baseURL, extra: ["--nupkgs", inputB])
        #expect(final.errors == 0, "\(final.output)")
    }

    /// `shelf` run as `nobody` (the tests run as root, which no permission stops), bounded in time.
    static func shelfAsNobody(_ arguments: [String]) throws -> ProcessResult {
        try run(
            "/usr/bin/timeout",
            [
                "-s", "KILL", "120", "/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                Repo.shelf,
            ]
                + arguments)
    }

    @Test("a folder the build may not write: a clear message, status 1, and the previous feed left intact")
    func permissionDenied() throws {
        guard geteuid() == 0 else {
            print("permissionDenied: skipped, switching to another user needs root")
            return
        }
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        chmod(tmp.path, 0o755)
        let inputA = tmp.sub("a")
        let inputB = tmp.sub("b")
        #expect(try python([Self.generator, inputA, "--versions", "20", "--seed", "31"]).status == 0)
        #expect(try python([Self.generator, inputB, "--versions", "40", "--seed", "32"]).status == 0)
        let out = tmp.sub("out")
        #expect(try Self.boundedShelf(["build", inputA, "--out", out, "--base-url", Self.baseURL]).status == 0)
        // The build runs as `nobody`, which owns the output folder and its state, but not the
        // flat container: the first package it writes fails.
        _ = try run("/bin/chown", ["-R", "nobody", out])
        _ = try run("/bin/chown", ["-R", "root", out + "/flatcontainer"])
        _ = try run("/bin/chmod", ["-R", "a+rX", tmp.path])
        let before = try snapshot(out, excluding: { $0.hasPrefix(".shelf/") })
        let r = try Self.shelfAsNobody(["build", inputB, "--out", out, "--base-url", Self.baseURL])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("Permission denied"), "\(r.stderr)")
        #expect(r.stderr.contains("previous feed is still served"), "\(r.stderr)")
        let after = try snapshot(out, excluding: { $0.hasPrefix(".shelf/") })
        #expect(after.keys.sorted() == before.keys.sorted(), "no file a client reaches came or went")
        #expect(after.filter { before[$0.key] != $0.value }.keys.sorted() == [], "no file a client reaches changed")
        let check = try checkFeed(out, baseURL: Self.baseURL, extra: ["--nupkgs", inputA])
        #expect(check.errors == 0, "\(check.output)")
    }

    @Test("files the build may not remove: a warning naming them, status 0, and the next build removes them")
    func removalDenied() throws {
        guard geteuid() == 0 else {
            print("removalDenied: skipped, switching to another user needs root")
            return
        }
        let tmp = try TemporaryFolder()
        defer { tmp.cleanup() }
        chmod(tmp.path, 0o755)
        let input = tmp.sub("in")
        #expect(try python([Self.generator, input, "--versions", "30", "--seed", "41"]).status == 0)
        let out = tmp.sub("out")
        #expect(try Self.boundedShelf(["build", input, "--out", out, "--base-url", Self.baseURL]).status == 0)
        // An id with two versions or more loses its lowest: its version folder goes, the id stays.
        let flat = out + "/flatcontainer"
        var chosen: (id: String, version: String)?
        for id in try FileManager.default.contentsOfDirectory(atPath: flat).sorted() {
            let index = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(flat)/\(id)/index.json")))
            if let versions = (index as? [String: Any])?["versions"] as? [String], versions.count >= 2 {
                chosen = (id, versions[0])
                break
            }
        }
        let (id, version) = try #require(chosen)
        let file = try #require(
            try FileManager.default.contentsOfDirectory(atPath: input).first {
                $0.lowercased() == "\(id).\(version).nupkg"
            })
        try FileManager.default.moveItem(atPath: input + "/" + file, toPath: tmp.path + "/" + file)
        // The build runs as `nobody`, which owns the output folder but not that version's folder.
        let versionFolder = "\(flat)/\(id)/\(version)"
        _ = try run("/bin/chown", ["-R", "nobody", out])
        _ = try run("/bin/chown", ["root", versionFolder])
        _ = try run("/bin/chmod", ["-R", "a+rX", tmp.path])
        let denied = try Self.shelfAsNobody(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(denied.status == 0, "\(denied.stderr)")
        #expect(denied.stderr.contains("could not be removed (Permission denied)"), "\(denied.stderr)")
        #expect(denied.stderr.contains("flatcontainer/\(id)/\(version)/"), "\(denied.stderr)")
        #expect(FileManager.default.fileExists(atPath: "\(versionFolder)/\(id).\(version).nupkg"))
        #expect(FileManager.default.fileExists(atPath: out + "/.shelf/journal.txt"), "kept for the next build")
        let first = try checkFeed(out, baseURL: Self.baseURL, extra: ["--nupkgs", input])
        #expect(first.errors == 0, "\(first.output)")
        // Once the folder may be written, the next build removes what is left, and says nothing of it.
        _ = try run("/bin/chown", ["nobody", versionFolder])
        let again = try Self.shelfAsNobody(["build", input, "--out", out, "--base-url", Self.baseURL])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(!again.stderr.contains("could not be removed"), "\(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: versionFolder))
        #expect(!FileManager.default.fileExists(atPath: out + "/.shelf/journal.txt"))
        // What is left is what a new build of the same input writes.
        let fresh = tmp.sub("fresh")
        #expect(try Self.boundedShelf(["build", input, "--out", fresh, "--base-url", Self.baseURL]).status == 0)
        let outside: (String) -> Bool = { $0.hasPrefix(".shelf/") || $0.hasPrefix("catalog/") }
        #expect(
            try snapshot(out, excluding: outside).keys.sorted() == snapshot(fresh, excluding: outside).keys.sorted())
    }
}
