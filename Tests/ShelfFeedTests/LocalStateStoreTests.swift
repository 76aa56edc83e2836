import Foundation
import Testing

@testable import ShelfFeed

/// The local state store: records in `.shelf/`, the journal, the lock, and the identity that
/// tells a no-op build whether the records are as the last build left them.
struct LocalStateStoreTests {
    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shelf-state-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("records: written whole under their names, read back, opened in parts, removed")
    func records() async throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let local = LocalStateStore(root: root)
        let store: any StateStore = local
        #expect(await store.read(.ids(shard: 7)) == nil)
        try await store.write(.ids(shard: 7), Data("0123456789".utf8))
        #expect(FileManager.default.fileExists(atPath: root + "/.shelf/ids/07.bin"))
        #expect(await store.read(.ids(shard: 7)) == Data("0123456789".utf8))
        guard case .opened(let file) = await store.open(.ids(shard: 7)) else {
            Issue.record("not opened")
            return
        }
        #expect(file.size == 10 && file.read(2..<5) == Array("234".utf8) && file.read(8..<11) == nil)
        // The opened version stays readable after the record is replaced.
        try await store.write(.ids(shard: 7), Data("abcdefghij".utf8))
        #expect(file.read(0..<3) == Array("012".utf8))
        await store.remove(.ids(shard: 7))
        guard case .missing = await store.open(.ids(shard: 7)) else {
            Issue.record("a removed record opens")
            return
        }
    }

    @Test("the journal: paths appended, read back (unsafe ones left out), gone when the build finishes")
    func journal() async throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let local = LocalStateStore(root: root)
        let store: any StateStore = local
        let lock = try await store.lock()
        defer { lock.release() }
        #expect(!(await store.hasUnfinishedBuild()))
        try await store.journal(["flatcontainer/a/index.json", "../outside"])
        try await store.journal(["index.json"])
        #expect(await store.hasUnfinishedBuild())
        #expect(await store.journaledPaths() == ["flatcontainer/a/index.json", "index.json"])
        await store.finishJournal()
        #expect(!(await store.hasUnfinishedBuild()))
        #expect(await store.journaledPaths() == [])
    }

    @Test("the lock: a second build finds it taken, by case, until it is released")
    func lock() async throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let local = LocalStateStore(root: root)
        let store: any StateStore = local
        let first = try await store.lock()
        await #expect(throws: StateError.locked(feed: local.root, lock: ".shelf/lock")) {
            _ = try await store.lock()
        }
        first.release()
        try await store.lock().release()
    }

    @Test("the records' identity changes when a record or the service index is touched")
    func identity() async throws {
        let root = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let local = LocalStateStore(root: root)
        let store: any StateStore = local
        try await store.write(.feedFiles, Data("index.json\n".utf8))
        let before = await store.recordIdentity()
        #expect(await store.recordIdentity() == before)
        try await store.write(.ids(shard: 3), Data("x".utf8))
        let afterRecord = await store.recordIdentity()
        #expect(afterRecord != before)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: root + "/index.json"))
        #expect(await store.recordIdentity() != afterRecord)
    }
}
