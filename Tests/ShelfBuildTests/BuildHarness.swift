import Foundation
@_spi(Testing) import ShelfFeed
import ShelfSite
import ShelfTestSupport
import Testing

/// The build run in-process, with the renderers `shelf build` uses, on packages from
/// `scripts/generate-feed.py`: for tests that stop a build at a fault point, or read its report
/// by case.
enum BuildHarness {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let baseURL = "https://feed.example.com/"

    /// Writes `versions` generated packages into `folder` (deterministic from the seed).
    static func generate(_ folder: String, versions: Int, seed: Int = 1) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "python3", root.appendingPathComponent("scripts/generate-feed.py").path, folder, "--versions",
            String(versions), "--seed", String(seed),
        ]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    /// A build of `input` into `output`, stopped at `fault` (it throws `BuildKilled` there).
    @discardableResult
    static func build(_ input: String, _ output: String, full: Bool = false, fault: FaultPoint? = nil) async throws
        -> FeedBuilder.Report
    {
        // Packages written in the last few milliseconds before a build are read again by the next
        // one ("racily clean"): the counts tests expect are for files a moment older.
        try await Task.sleep(nanoseconds: 30_000_000)
        var options = FeedBuilder.Options(input: input, output: output, baseURL: baseURL)
        options.full = full
        if let fault {
            options.faults = { point in if point == fault { throw BuildKilled(at: point) } }
        }
        return try await FeedBuilder(options: options, extras: [SiteRenderer()]).run()
    }

    /// A build that must stop at `fault`.
    static func kill(_ input: String, _ output: String, at fault: FaultPoint) async throws {
        await #expect(throws: BuildKilled(at: fault)) { try await build(input, output, fault: fault) }
    }

    /// Expects `a` to hold the same files as `b`, naming the first that differ. `history`: the
    /// catalog is compared too (and the registrations' links to it); else the feeds are compared
    /// without their history (`historyFreeSnapshot`). Shelf's records are never compared.
    static func expectSame(
        _ a: String, _ b: String, history: Bool = false, excluding: @escaping (String) -> Bool = { _ in false },
        _ step: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        func files(_ folder: String) throws -> [String: Data] {
            history
                ? try ShelfTestSupport.snapshot(folder) { $0.hasPrefix(".shelf/") || excluding($0) }
                : try historyFreeSnapshot(folder, excluding: excluding)
        }
        let x = try files(a)
        let y = try files(b)
        let extra = Set(x.keys).subtracting(y.keys).sorted()
        let missing = Set(y.keys).subtracting(x.keys).sorted()
        #expect(
            extra.isEmpty && missing.isEmpty, "\(step): left behind \(extra.prefix(5)); missing \(missing.prefix(5))",
            sourceLocation: sourceLocation)
        let differing = x.keys.filter { y[$0] != nil && x[$0] != y[$0] }.sorted()
        #expect(differing.isEmpty, "\(step): differ: \(differing.prefix(5))", sourceLocation: sourceLocation)
    }
}
