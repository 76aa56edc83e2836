import Foundation
import NuGetCore

/// Stage 5 of a build: the rendered documents into the output folder, and the records after
/// them, in an order that a kill at any point leaves a feed a client can use and that the next
/// build repairs:
///
/// 1. per-id documents, a batch of ids at a time, each batch's paths journaled first;
/// 2. the files of earlier builds that go, journaled before the record that stops naming them;
/// 3. the feed-wide documents, the service index last;
/// 4. this build's records (`FaultPoint.afterRecord`);
/// 5. the removals (`FaultPoint.beforeRemove`), then the journal goes.
///
/// Never removes a file this build wrote, whatever a record said; never removes a file no Shelf
/// build wrote (what a sweep removes is named as Shelf names its own, where a build finished).
struct FeedCommit {
    let sink: any FeedSink
    /// Files no removal takes, whichever id named them: the symbol store's files that a served
    /// symbol package still has (two packages may carry the same PDB, under one key).
    var keep: Set<String> = []
    let state: any StateStore
    let faults: (@Sendable (FaultPoint) throws -> Void)?
    /// Files an earlier, unfinished build journaled (read before this build adds its own).
    let leftovers: [String]
    /// What the output folder holds before this build writes, named as Shelf's: listed only
    /// when the plan sweeps.
    let listed: [String]
    private(set) var summary = WriteSummary()
    /// Files of earlier builds that go, every one journaled before it is out of every record.
    private(set) var stale: [String] = []
    private(set) var feedWidePaths: [String] = []
    private(set) var notes: [BuildNote] = []
    /// This build's feed, once listed (a sweep needs it).
    private var current: Set<String>?

    init(
        sink: any FeedSink, state: any StateStore, leftovers: [String], sweep: Bool,
        faults: (@Sendable (FaultPoint) throws -> Void)?
    ) async {
        self.sink = sink
        self.state = state
        self.faults = faults
        self.leftovers = leftovers
        listed = sweep ? await sink.files(below: FeedLayout.perIdFolders).filter(FeedLayout.isPerIdDocumentName) : []
    }

    /// The records a build leaves, to save after the feed-wide documents.
    struct Records {
        /// Nil for a push, which reads no input folder.
        var readCache: ReadCache?
        /// The read-cache shards to write (all when nil).
        var cacheShards: Set<Int>?
        /// Whether only the per-id shards of dirty ids are written (else all of them).
        var onlyDirtyIdShards: Bool
        var catalog: CatalogState
        /// How the feed is built, and its policy files (for `shelf push`).
        var options: BuildOptionsRecord? = nil
        var policyFiles: [(StateRecord, Data)] = []

        /// With trusted records, only the shards this build changed are written again (all of the
        /// per-id record's when the policy changed: each shard names the policy it was made with).
        init(
            inputs: PackageInputs, plan: BuildPlan, full: Bool, catalog: CatalogState, policyChanged: Bool,
            options: BuildOptionsRecord? = nil, policyFiles: [(StateRecord, Data)] = []
        ) {
            self.options = options
            self.policyFiles = policyFiles
            self.catalog = catalog
            readCache = inputs.nextCache
            cacheShards = full || !inputs.hadCache || !plan.trustRecords ? nil : inputs.changedCacheShards
            onlyDirtyIdShards = plan.trustRecords && !policyChanged
        }

        /// The records of a push: no read cache; the per-id shards of the ids it put together
        /// (all when the policy changed).
        init(
            pushWith catalog: CatalogState, policyChanged: Bool, options: BuildOptionsRecord,
            policyFiles: [(StateRecord, Data)]
        ) {
            readCache = nil
            cacheShards = []
            onlyDirtyIdShards = !policyChanged
            self.catalog = catalog
            self.options = options
            self.policyFiles = policyFiles
        }
    }

    /// The whole commit, in order: the per-id documents of `feed.changed`, the retired files,
    /// the feed-wide documents (rendered by `feedWide` once the per-id batches are out of
    /// memory), `records`, then the removals.
    mutating func run(
        _ feed: inout AssembledFeed, previous: IdState, renderer: FeedRenderer, clock: inout PhaseClock,
        progress: (@Sendable (FeedBuilder.Progress) -> Void)?, feedWide: () -> [FeedDocument], records: Records
    ) async throws {
        try await writeIds(
            feed.changed, renderer: renderer, model: feed.model, catalog: feed.links, records: &feed.records,
            previous: previous, progress: progress)
        try await retire(feed.removedIds, previous: previous)
        // The catalog history is encoded (when written whole, tens of megabytes) while the
        // feed-wide documents are rendered and written.
        let catalog = records.catalog
        let encodingCatalog = Task { catalog.encodedFiles() }
        let documents = feedWide()
        clock.mark("render")
        try await writeFeedWide(documents, records: feed.records)
        try await savePackageRecords(rendered: feed.changed, removed: feed.removedIds, records: records)
        try await saveRecords(
            readCache: records.readCache, cacheShards: records.cacheShards, records: feed.records,
            idShards: records.onlyDirtyIdShards ? Set(feed.dirty.map(IdState.shard(of:))) : Set(0..<IdState.shardCount),
            catalog: await encodingCatalog.value)
        try await retireFeedWide()
        try await removeStale(records: feed.records, rendered: feed.changed)
    }

    /// Per-id documents, rendered and written a batch of ids at a time (so that memory holds one
    /// batch, not the feed). Each batch's paths go to the journal before its files; each id's
    /// record then names its new files, and those it no longer has are stale.
    mutating func writeIds(
        _ changed: [PackageRegistration], renderer: FeedRenderer, model: FeedModel,
        catalog: [String: CatalogLinks], records: inout IdState, previous: IdState,
        progress: (@Sendable (FeedBuilder.Progress) -> Void)?
    ) async throws {
        let batchSize = 256
        let total = changed.count
        for start in stride(from: 0, to: changed.count, by: batchSize) {
            let batch = Array(changed[start..<min(start + batchSize, changed.count)])
            let perId = renderer.renderIds(batch, model: model, catalog: catalog)
            let docs = perId.values.flatMap { $0 }
            try await state.journal(docs.map(\.path))
            let done = start
            summary.add(
                try await sink.writeDocuments(docs) { n in
                    progress?(.writing(done: done + min(n, batchSize), total: total))
                })
            for (id, list) in perId {
                let paths = list.map(\.path)
                stale += Removals.dropped(old: previous.entries[id]?.paths ?? [], new: paths)
                records.entries[id]?.paths = paths
            }
        }
    }

    /// The files of ids that left the feed go too: all journaled before this build's record
    /// (written with the feed-wide documents) stops naming them, so that if the build is killed
    /// from then on, the journal is what tells the next build to remove them.
    mutating func retire(_ removedIds: [String], previous: IdState) async throws {
        for id in removedIds { stale += previous.entries[id]?.paths ?? [] }
        try await state.journal(stale)
    }

    /// The feed-wide documents, the service index last. Before them, the files a sweep finds that
    /// belong to no id of this feed are journaled (they go with the other stale files).
    mutating func writeFeedWide(_ documents: [FeedDocument], records: IdState) async throws {
        feedWidePaths = documents.map(\.path)
        var swept: [String] = []
        if !listed.isEmpty {
            let files = currentFiles(records)
            current = files
            swept = BuildPlan.swept(listed: listed, current: files)
            if !swept.isEmpty { notes.append(.strayFilesRemoved(count: swept.count)) }
        }
        try await state.journal(feedWidePaths + swept)
        stale += swept
        summary.add(try await sink.writeDocuments(documents))
    }

    /// What `shelf push` needs to carry on from this build: each rendered id's packages (the
    /// records of ids that left go), how the feed is built, and its policy files. Written before
    /// the per-id record that names the new fingerprints: a build killed in between renders those
    /// ids again.
    func savePackageRecords(rendered: [PackageRegistration], removed: [String], records: Records) async throws {
        try await state.writeAll(
            rendered.map { (StateRecord.packages($0.lowerId), PackageRecord(served: $0).encoded()) })
        for id in removed { await state.remove(.packages(id)) }
        if let options = records.options {
            try await state.writeAll([(StateRecord.buildOptions, options.encoded())] + records.policyFiles)
        }
    }

    /// This build's records: the read cache's and the per-id record's changed shards, and the
    /// catalog history. Then the first fault point.
    func saveRecords(
        readCache: ReadCache?, cacheShards: Set<Int>?, records: IdState, idShards: Set<Int>,
        catalog: (base: Data?, tail: Data)
    ) async throws {
        if let readCache { try await state.saveReadCache(readCache, shards: cacheShards) }
        try await state.saveIdState(records, shards: idShards)
        try await state.saveCatalogHistory(catalog)
        try faults?(.afterRecord)
    }

    /// Feed-wide files of the last build that this one did not write (the site after --no-site,
    /// vulnerability info after its advisories went) are stale; the catalog only grows, and
    /// private files are never removed this way. Then the list of this build's feed-wide files
    /// is recorded.
    mutating func retireFeedWide() async throws {
        let gone = Removals.retiredFeedWide(previous: await state.feedFiles(), written: Set(feedWidePaths))
        try await state.journal(gone)
        stale += gone
        try await state.saveFeedFiles(Removals.recordedFeedWide(feedWidePaths))
    }

    /// Removes what goes: this build's stale files, and what an unfinished earlier build wrote
    /// that this feed does not have (the catalog aside: it only grows, so a page or leaf the
    /// killed build wrote is part of it, or an unlinked leaf, harmless). Then the journal goes;
    /// files that could not be removed stay in it, for the next build to try again.
    mutating func removeStale(records: IdState, rendered: [PackageRegistration]) async throws {
        if !leftovers.isEmpty { stale += Removals.leftovers(leftovers, current: current ?? currentFiles(records)) }
        var written = Set(feedWidePaths).union(keep)
        for r in rendered { written.formUnion(records.entries[r.lowerId]?.paths ?? []) }
        let goners = Removals.goners(stale: stale, written: written)
        if !goners.isEmpty { try faults?(.beforeRemove) }
        let removal = await sink.removeFiles(goners)
        summary.removed = removal.removed
        await state.finishJournal()
        if !removal.failed.isEmpty {
            try await state.journal(removal.failed.map(\.path))
            let first = removal.failed.min { $0.path < $1.path }!
            notes.append(.removalFailed(path: first.path, reason: first.reason, count: removal.failed.count))
        }
    }

    /// Every file of this build's feed: each id's files and the feed-wide ones.
    private func currentFiles(_ records: IdState) -> Set<String> {
        var files = Set(feedWidePaths)
        for e in records.entries.values { files.formUnion(e.paths) }
        return files
    }
}
