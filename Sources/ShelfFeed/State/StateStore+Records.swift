import Foundation
import NuGetCore

/// Each record read and written in its own format: the only way the build reaches its state.
extension StateStore {
    // MARK: Read cache

    /// What earlier builds read from each package file (`ReadCache`), and whether part of it was
    /// damaged or of another format.
    func loadReadCache() async -> (cache: ReadCache, damaged: Bool) {
        await ReadCache.load(from: self)
    }

    /// Writes the read cache's shards in `shards` (every shard when nil).
    func saveReadCache(_ cache: ReadCache, shards: Set<Int>?) async throws(StateError) {
        try await writeAll(cache.encodedShards(only: shards).map { (StateRecord.readCache(shard: $0.key), $0.value) })
    }

    // MARK: Per-id record

    /// Each id's fingerprint, digest and files from the last build (`IdState`); nil when there
    /// is none. `damaged` when part of it is unreadable, missing or of another global key.
    func loadIdState() async -> (state: IdState?, damaged: Bool) {
        await IdState.load(from: self)
    }

    /// Writes the per-id record's shards in `shards`.
    func saveIdState(_ state: IdState, shards: Set<Int>) async throws(StateError) {
        try await writeAll(state.encodedShards(only: shards).map { (StateRecord.ids(shard: $0.key), $0.value) })
    }

    // MARK: Catalog history

    /// The catalog history the previous build left: its records, or, if they are missing or
    /// damaged, what the catalog in the feed records (`readFeed` reads a file of the feed by
    /// relative path). With the notes a user should see about it.
    func loadCatalogHistory(readFeed: (String) async -> Data?) async -> (history: CatalogState, notes: [BuildNote]) {
        var notes: [BuildNote] = []
        if let base = await read(.catalog) {
            do {
                let state = try CatalogState.decode(base, tail: await read(.catalogTail))
                // The records are written after the catalog; if a build stopped in between, the
                // catalog in the feed (which followers may have read) is ahead: trust the catalog.
                let head = CatalogState.head(await readFeed(CatalogLayout.index))
                if head == nil || head == state.items.last?.commitId { return (state, notes) }
                notes.append(.catalogRecordBehind)
            } catch {
                notes.append(.catalogRecordUnreadable(error))
            }
        }
        do {
            if let rebuilt = try await CatalogState.reconstruct(read: readFeed) { return (rebuilt, notes) }
        } catch {
            notes.append(.catalogUnreadable(error))
        }
        return (CatalogState(), notes)
    }

    /// Writes the catalog history as `CatalogState.encodedFiles()` made it: its tail, and first
    /// the whole history when the tail has grown long (a tail never names a base that is not
    /// there yet).
    func saveCatalogHistory(_ encoded: (base: Data?, tail: Data)) async throws(StateError) {
        if let base = encoded.base { try await write(.catalog, base) }
        try await write(.catalogTail, encoded.tail)
    }

    // MARK: The last finished build

    /// The input signature and record identity the last finished build recorded.
    func inputSignature() async -> String? { await read(.inputSignature).map { String(decoding: $0, as: UTF8.self) } }

    func saveInputSignature(_ signature: String) async throws(StateError) {
        try await write(.inputSignature, Data(signature.utf8))
    }

    /// Forgets the signature: until this build finishes, a build with the old input must not
    /// take the folder for one it has already built.
    func forgetInputSignature() async { await remove(.inputSignature) }

    /// What the last finished build reported.
    func lastReport() async -> InputSignature.LastReport? {
        await read(.lastReport).flatMap { try? JSONDecoder().decode(InputSignature.LastReport.self, from: $0) }
    }

    func saveLastReport(_ report: InputSignature.LastReport) async throws(StateError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await write(.lastReport, (try? encoder.encode(report)) ?? Data())
    }

    /// The feed-wide files the last finished build wrote (empty when none is recorded).
    func feedFiles() async -> [String] {
        await read(.feedFiles).map { $0.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) } } ?? []
    }

    func saveFeedFiles(_ paths: [String]) async throws(StateError) {
        try await write(.feedFiles, Data((paths.sorted().joined(separator: "\n") + "\n").utf8))
    }

    /// Records a finished build: its report, then its input signature with the identity of the
    /// records it left (nil: no signature, so that the next build looks at the input again).
    func recordFinishedBuild(_ report: InputSignature.LastReport, signature: String?) async throws(StateError) {
        try await saveLastReport(report)
        if let signature { try await saveInputSignature(signature + "\n" + (await recordIdentity())) }
    }

    /// Whether a Shelf build ever finished with this state: the feed-file list and the last
    /// report are written after every document of a build.
    func hasFinishedBuild() async -> Bool {
        let files = await exists(.feedFiles)
        return files ? true : await exists(.lastReport)
    }

    // MARK: shelf publish

    /// What the last publish from this folder stored (empty when nothing is recorded).
    public func loadPublishCache() async -> PublishCache {
        await read(.publishCache).map(PublishCache.init(decoding:)) ?? PublishCache()
    }

    /// Saves it; a cache that cannot be saved only means hashing again next time.
    public func savePublishCache(_ cache: PublishCache) async {
        try? await write(.publishCache, cache.encoded())
    }

    // MARK: Helpers

    /// Writes several records, a few at a time (a build writes up to 128 shards).
    func writeAll(_ records: [(StateRecord, Data)]) async throws(StateError) {
        let failures = await withTaskGroup(of: StateError?.self) { group in
            var next = 0
            func add() {
                let (record, data) = records[next]
                next += 1
                group.addTask {
                    do throws(StateError) {
                        try await self.write(record, data)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            while next < records.count && next < 16 { add() }
            var failures: [StateError] = []
            while let result = await group.next() {
                if let result { failures.append(result) }
                if next < records.count { add() }
            }
            return failures
        }
        if let first = failures.first { throw first }
    }
}

extension CatalogState {
    /// The `commitId` of a catalog index document (nil when there is none or it is empty).
    static func head(_ index: Data?) -> String? {
        guard let index, let object = try? JSONSerialization.jsonObject(with: index) as? [String: Any] else {
            return nil
        }
        return object["commitId"] as? String
    }
}
