import Foundation
import ShelfTestSupport
import Testing

/// The golden files' diff: git's hunks for a known case, and for seeded random texts a patch
/// that `git apply` takes and that turns the old text into the new one.
struct UnifiedDiffTests {
    @Test("the hunks git prints for a change and an appended line")
    func knownCase() {
        let a = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
        let b = "a\nb\nC\nd\ne\nf\ng\nh\ni\nj\nk\n"
        #expect(
            UnifiedDiff.make(expected: a, actual: b, path: "x") == """
                --- a/x
                +++ b/x
                @@ -1,6 +1,6 @@
                 a
                 b
                -c
                +C
                 d
                 e
                 f
                @@ -8,3 +8,4 @@
                 h
                 i
                 j
                +k

                """)
        #expect(UnifiedDiff.make(expected: a, actual: a, path: "x") == "")
        #expect(UnifiedDiff.make(expected: Data([0, 1]), actual: Data([0, 2]), path: "p").hasPrefix("Binary files"))
    }

    @Test("40 seeded random edits: git apply turns the old text into the new one with the diff")
    func appliesWithGit() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("diff-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var rng = SeededRandom(seed: 40)
        for round in 0..<40 {
            let old = (0..<(5 + rng.below(40))).map { _ in "line \(rng.below(12))" }
            var new = old
            for _ in 0...rng.below(6) {
                switch rng.below(3) {
                case 0 where !new.isEmpty: new.remove(at: rng.below(new.count))
                case 1: new.insert("new \(rng.below(5))", at: rng.below(new.count + 1))
                default: if !new.isEmpty { new[rng.below(new.count)] = "changed \(rng.below(5))" }
                }
            }
            let a = old.map { $0 + "\n" }.joined()
            let b = new.map { $0 + "\n" }.joined()
            let diff = UnifiedDiff.make(expected: a, actual: b, path: "f.txt")
            guard !diff.isEmpty else {
                #expect(a == b)
                continue
            }
            try a.write(toFile: folder + "/f.txt", atomically: true, encoding: .utf8)
            try diff.write(toFile: folder + "/f.diff", atomically: true, encoding: .utf8)
            let git = Process()
            git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            git.arguments = ["git", "apply", "--unsafe-paths", "f.diff"]
            git.currentDirectoryURL = URL(fileURLWithPath: folder)
            try git.run()
            git.waitUntilExit()
            #expect(git.terminationStatus == 0, "round \(round): git apply refused\n\(diff)")
            #expect(try String(contentsOfFile: folder + "/f.txt", encoding: .utf8) == b, "round \(round)\n\(diff)")
        }
    }
}
