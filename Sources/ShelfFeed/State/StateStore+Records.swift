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
    func saveReadCache(_ cache: ReadCache, shards: Set<Int>?) throws(StateError) {
        try writeAll(cache.encodedShards(only: shards).map { (StateRecord.readCache(shard: $0.key), $0.value) })
    }

    // MARK: Per-id record

    /// Each id's fingerprint, digest and files from the last build (`IdState`); nil when there
    /// is none. `damaged` when part of it is unreadable, missing or of another global key.
    func loadIdState() async -> (state: IdState?, damaged: Bool) {
        await IdState.load(from: self)
    }

    /// Writes the per-id record's shards in `shards`.
    func saveIdState(_ state: IdState, shards: Set<Int>) throws(StateError) {
        try writeAll(state.encodedShards(only: shards).map { (StateRecord.ids(shard: $0.key), $0.value) })
    }

    // MARK: Catalog history

    /// The catalog history the previous build left: its records, or, if they are missing or
    /// damaged, what the catalog in the feed records (`readFeed` reads a file of the feed by
    /// relative path). With the notes a user should see about it.
    func loadCatalogHistory(readFeed: (String) -> Data?) -> (history: CatalogState, notes: [BuildNote]) {
        var notes: [BuildNote] = []
        if let base = read(.catalog) {
            do {
                let state = try CatalogState.decode(base, tail: read(.catalogTail))
                // The records are written after the catalog; if a build stopped in between, the
                // catalog in the feed (which followers may have read) is ahead: trust the catalog.
                let head = CatalogState.head(readFeed(CatalogLayout.index))
                if head == nil || head == state.items.last?.commitId { return (state, notes) }
                notes.append(.catalogRecordBehind)
            } catch {
                notes.append(.catalogRecordUnreadable(error))
            }
        }
        do {
            if let rebuilt = try CatalogState.reconstruct(read: readFeed) { return (rebuilt, notes) }
        } catch {
            notes.append(.catalogUnreadable(error))
        }
        return (CatalogState(), notes)
    }

    /// Writes the catalog history: its tail, and first the whole history when the tail has
    /// grown long (a tail never names a base that is not there yet).
    func saveCatalogHistory(_ history: CatalogState) throws(StateError) {
        let (base, tail) = history.encodedFiles()
        if let base { try write(.catalog, base) }
        try write(.catalogTail, tail)
    }

    // MARK: The last finished build

    /// The input signature and record identity the last finished build recorded.
    func inputSignature() -> String? { read(.inputSignature).map { String(decoding: $0, as: UTF8.self) } }

    func saveInputSignature(_ signature: String) throws(StateError) {
        try write(.inputSignature, Data(signature.utf8))
    }

    /// Forgets the signature: until this build finishes, a build with the old input must not
    /// take the folder for one it has already built.
    func forgetInputSignature() { remove(.inputSignature) }

    /// What the last finished build reported.
    func lastReport() -> InputSignature.LastReport? {
        read(.lastReport).flatMap { try? JSONDecoder().decode(InputSignature.LastReport.self, from: $0) }
    }

    func saveLastReport(_ report: InputSignature.LastReport) throws(StateError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try write(.lastReport, (try? encoder.encode(report)) ?? Data())
    }

    /// The feed-wide files the last finished build wrote (empty when none is recorded).
    func feedFiles() -> [String] {
        read(.feedFiles).map { $0.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) } } ?? []
    }

    func saveFeedFiles(_ paths: [String]) throws(StateError) {
        try write(.feedFiles, Data((paths.sorted().joined(separator: "\n") + "\n").utf8))
    }

    /// Records a finished build: its report, then its input signature with the identity of the
    /// records it left (nil: no signature, so that the next build looks at the input again).
    func recordFinishedBuild(_ report: InputSignature.LastReport, signature: String?) throws(StateError) {
        try saveLastReport(report)
        if let signature { try saveInputSignature(signature + "\n" + recordIdentity()) }
    }

    /// Whether a Shelf build ever finished with this state: the feed-file list and the last
    /// report are written after every document of a build.
    var hasFinishedBuild: Bool { exists(.feedFiles) || exists(.lastReport) }

    // MARK: Helpers

    /// Writes several records, on all cores (a build writes up to 128 shards).
    private func writeAll(_ records: [(StateRecord, Data)]) throws(StateError) {
        let failures = Parallel.map(records, pieces: max(1, min(records.count, 16))) {
            (record, data) -> StateError? in
            do throws(StateError) {
                try self.write(record, data)
                return nil
            } catch {
                return error
            }
        }
        if let first = failures.lazy.compactMap({ $0 }).first { throw first }
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
