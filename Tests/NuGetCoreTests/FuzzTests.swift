import Foundation
import ShelfTestSupport
import Testing

@testable import NuGetCore

/// Mutation fuzzing of the package reader and the nuspec parser, deterministic (a fixed seed)
/// and bounded by a count of inputs: every mutated input must be read or refused with an error,
/// never crash, hang (the test's own time limit) or use unbounded memory. Seeds are the SampleFeed packages; mutations aim
/// at zip headers (signatures found in the file) as often as at random bytes.
@Suite(.serialized)
struct FuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func seeds() throws -> [[UInt8]] {
        let folder = root.appendingPathComponent("SampleFeed").path
        return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".nupkg") }.sorted()
            .map { try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0))) }
    }

    static let interesting32: [UInt32] = [
        0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF,
    ]

    /// Offsets of zip structures in a file: local headers, central records, end records.
    static func headerOffsets(_ bytes: [UInt8]) -> [Int] {
        var out: [Int] = []
        var i = 0
        while i + 4 <= bytes.count {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, [1, 3, 5, 6].contains(bytes[i + 2]) { out.append(i) }
            i += 1
        }
        return out
    }

    static func mutate(_ input: [UInt8], headers: [Int], rng: inout SeededRandom) -> [UInt8] {
        var b = input
        for _ in 0...rng.below(3) {
            // Half of the mutations land within a header, the rest anywhere.
            let base =
                !headers.isEmpty && rng.below(2) == 0
                ? headers[rng.below(headers.count)] + rng.below(46) : rng.below(b.count)
            let at = min(max(base, 0), max(b.count - 1, 0))
            switch rng.below(7) {
            case 0 where !b.isEmpty:
                b[at] ^= UInt8(1 << rng.below(8))
            case 1 where !b.isEmpty:
                b[at] = [0, 0xFF, 0x7F, 0x80, 0x2F, 0x5C, 0x2E][rng.below(7)]
            case 2 where at + 4 <= b.count:
                let v = interesting32[rng.below(interesting32.count)]
                for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
            case 3 where at + 2 <= b.count:
                let v = UInt16(truncatingIfNeeded: interesting32[rng.below(interesting32.count)])
                b[at] = UInt8(truncatingIfNeeded: v)
                b[at + 1] = UInt8(truncatingIfNeeded: v >> 8)
            case 4:
                b = Array(b.prefix(at))
            case 5 where !b.isEmpty:
                let length = min(rng.below(64) + 1, b.count - at)
                b.insert(contentsOf: b[at..<(at + length)], at: rng.below(b.count))
            default:
                if !b.isEmpty { b.remove(at: at) }
            }
        }
        return b
    }

    static func peakMemoryKB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    /// How many mutated inputs each test tries (the same ones on every run).
    static let packageRuns = 4_000
    static let nuspecRuns = 20_000

    @Test("mutated packages: always read or refused, never a crash or a hang, memory bounded")
    func packageReader() throws {
        let seeds = try Self.seeds()
        #expect(!seeds.isEmpty)
        let headers = seeds.map(Self.headerOffsets)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shelf-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("fuzz.nupkg").path

        var rng = SeededRandom(seed: 0x5EED)
        let memoryBefore = Self.peakMemoryKB()
        var runs = 0
        var read = 0
        var refused: [String: Int] = [:]
        var slowest = 0.0
        while runs < Self.packageRuns {
            let s = rng.below(seeds.count)
            let input = Self.mutate(seeds[s], headers: headers[s], rng: &rng)
            try Data(input).write(to: URL(fileURLWithPath: path))
            let began = Date()
            do {
                let archive = try PackageArchive.read(path: path)
                read += 1
                #expect(!archive.nuspec.id.isEmpty)
            } catch {
                let kind = Mirror(reflecting: error).children.first?.label ?? "\(error)"
                refused[kind, default: 0] += 1
                // Every refusal is one line.
                #expect(!error.description.contains("\n"))
            }
            slowest = max(slowest, Date().timeIntervalSince(began))
            runs += 1
        }
        #expect(Self.peakMemoryKB() - memoryBefore < 512 * 1024, "peak memory grew by more than 512 MB")
        // The fuzzer reached both sides: some mutants still read, many are refused for varied reasons.
        #expect(read > 0 && refused.values.reduce(0, +) > 0)
        #expect(refused.count >= 4, "\(refused)")
        print(
            "fuzz: \(runs) mutated packages, \(read) read, refused: \(refused.sorted { $0.key < $1.key }), slowest \(slowest) s"
        )
    }

    static let fragments: [String] = [
        "<!DOCTYPE package [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>", "<!ENTITY a \"aaaa\">", "&x;", "&#0;",
        "&#xFFFF;", "<", ">", "&", "]]>", "<![CDATA[", "<?pi x?>", "<!--", "-->", "<id>", "</id>", "<version>",
        "</metadata>", "<dependency id=\"\" version=\"[1,\"/>", "<group targetFramework=\"net9999.0-foo\">",
        "<license type=\"file\">../x</license>", "<icon>/etc/passwd</icon>", "\u{0}", "\u{FEFF}",
        "encoding=\"UTF-16\"", "xmlns=\"urn:x\"", String(repeating: "<a>", count: 2_000),
        String(repeating: "x", count: 100_000),
    ]

    @Test("mutated nuspecs: always parsed or refused, never a crash or a hang")
    func nuspecParser() throws {
        let seeds = try Self.seeds().compactMap { bytes -> [UInt8]? in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "shelf-fuzz-\(UUID().uuidString)")
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let path = folder.appendingPathComponent("seed.nupkg").path
            try? Data(bytes).write(to: URL(fileURLWithPath: path))
            guard let archive = try? PackageArchive.read(path: path),
                let data = try? PackageArchive.extractEntry(archive.nuspecEntry, fromPackageAt: path, limit: 1 << 20)
            else { return nil }
            return [UInt8](data)
        }
        #expect(!seeds.isEmpty)
        var rng = SeededRandom(seed: 0xA11CE)
        var runs = 0
        var parsed = 0
        var slowest = 0.0
        while runs < Self.nuspecRuns {
            var b = seeds[rng.below(seeds.count)]
            for _ in 0...rng.below(3) {
                let at = rng.below(b.count)
                switch rng.below(4) {
                case 0: b.insert(contentsOf: Array(Self.fragments[rng.below(Self.fragments.count)].utf8), at: at)
                case 1: if !b.isEmpty { b[min(at, b.count - 1)] ^= UInt8(1 << rng.below(8)) }
                case 2: b.insert(contentsOf: [0xFF, 0xFE, 0xC3][..<(rng.below(3) + 1)], at: at)
                default: b = Array(b.prefix(at))
                }
            }
            let began = Date()
            if (try? Nuspec(data: Data(b))) != nil { parsed += 1 }
            slowest = max(slowest, Date().timeIntervalSince(began))
            runs += 1
        }
        #expect(parsed > 0 && parsed < runs)
        print("fuzz: \(runs) mutated nuspecs, \(parsed) parsed, slowest \(slowest) s")
    }
}
