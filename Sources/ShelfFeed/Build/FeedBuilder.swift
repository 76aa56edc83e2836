import Foundation
import NuGetCore

/// `shelf build`: a folder of packages in, a static feed out, as a few stages:
///
/// 1. **inputs** (`PackageInputs`): scan the folder; stop if nothing changed since the last
///    build; read the new and changed package files (the rest come from the read cache);
/// 2. **plan** (`BuildPlan`, pure): which ids are dirty, and whether to sweep the output folder;
/// 3. **assemble** (`AssembledFeed`): put the dirty ids together with the policy, decide which
///    must be rendered, append to the catalog history;
/// 4. **render** (`FeedRenderer`, pure): the documents of those ids and the feed-wide ones;
/// 5. **commit** (`FeedCommit`): journal, write, record, remove.
///
/// Everything it keeps between builds goes through one `StateStore`.
public struct FeedBuilder: Sendable {
    public struct Options: Sendable {
        public var input: String
        public var output: String
        public var baseURL: String
        public var concurrency: Int
        /// The policy file; nil: `shelf.json` in the input folder when there is one.
        public var policyPath: String?
        /// Let packages that break a prefix reservation through (unverified, with a warning).
        public var warnOnPrefixViolation = false
        /// Ignore what earlier builds recorded: read every package and render every document.
        public var full = false
        /// Store the registration hives gzip-compressed (`--gzip`), for a host that serves them
        /// with `Content-Encoding: gzip`.
        public var gzipRegistrations = false
        /// The host configuration written (`--host`), recorded so that changing it is a change.
        public var host: String?
        /// The build's records (read cache, per-id records, catalog history) are left for the
        /// process's exit to free (`LeftToExit`): for a one-shot command.
        public var leaveRecordsToExit = false
        /// Called at each `FaultPoint`; a test's hook throws there to stop the build as a kill
        /// would. For tests only (`@_spi(Testing) import ShelfFeed`); nil in real use.
        @_spi(Testing) public var faults: (@Sendable (FaultPoint) throws -> Void)?

        public init(
            input: String, output: String, baseURL: String,
            concurrency: Int = ProcessInfo.processInfo.activeProcessorCount, policyPath: String? = nil,
            warnOnPrefixViolation: Bool = false
        ) {
            self.input = input
            self.output = output
            self.baseURL = baseURL
            self.concurrency = max(1, concurrency)
            self.policyPath = policyPath
            self.warnOnPrefixViolation = warnOnPrefixViolation
        }

        /// Whether a build without `policyPath` takes `shelf.json` from the input folder (a push
        /// does not: its input is no folder).
        var looksForPolicy = true

        /// The policy file this build uses, if any.
        public var resolvedPolicyPath: String? {
            if let policyPath { return policyPath }
            guard looksForPolicy else { return nil }
            let candidate = (input as NSString).appendingPathComponent(FeedPolicy.fileName)
            return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
        }
    }

    /// Progress for a terminal: how far reading and writing have come.
    public enum Progress: Sendable {
        case reading(done: Int, total: Int)
        case writing(done: Int, total: Int)
    }

    public enum BuildError: Error, Sendable, Equatable, CustomStringConvertible {
        case inputMissing(String)
        case outputInsideFeed(String)
        case policy(PolicyError)

        public var description: String {
            switch self {
            case .inputMissing(let path):
                return
                    "the input folder \(path) does not exist or is not a folder; give the folder that holds your .nupkg files"
            case .outputInsideFeed(let path):
                return "the output folder \(path) is the input folder; choose a separate folder with --out"
            case .policy(let error):
                return "\(error). No feed was written"
            }
        }
    }

    public let options: Options
    /// Renderers from other modules (the package site, a host's configuration).
    public let extras: [any FeedDocumentRenderer]
    /// Where the feed's files go and where its records are kept.
    public let sink: any FeedSink
    public let state: any StateStore

    /// A build into the local folder `options.output`, its records in `.shelf/` there.
    public init(options: Options, extras: [any FeedDocumentRenderer] = []) {
        let state = LocalStateStore(root: options.output)
        self.init(
            options: options, extras: extras, state: state,
            sink: LocalFolderSink(root: options.output, concurrency: options.concurrency, scratch: state.scratch))
    }

    /// A build into another destination: its files through `sink`, its records in `state`.
    public init(
        options: Options, extras: [any FeedDocumentRenderer] = [], state: any StateStore, sink: any FeedSink
    ) {
        self.options = options
        self.extras = extras
        self.state = state
        self.sink = sink
    }

    public func run(progress: (@Sendable (Progress) -> Void)? = nil) async throws -> Report {
        // When this build started, for files changed too recently for their identity to show a
        // rewrite in the same clock tick (`isRacy`). The clock never goes into the feed.
        let started = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        let settings = try BuildSettings(options, extras: extras)
        var clock = PhaseClock()
        // The lock is held from before the records are read until the feed is written. What a
        // killed build was writing and removing is put in order first (its journal says what).
        let lock = try await state.lock()
        defer { lock.release() }
        let (unfinished, leftovers) = (await state.hasUnfinishedBuild(), await state.journaledPaths())
        await sink.recover(journaled: leftovers)
        let previous = PreviousRecords(
            state: state, sink: sink, full: options.full, unfinished: unfinished, leftovers: leftovers)
        defer { previous.cancel() }

        // 1. Inputs: the scan; a stop when nothing changed since the last build; the packages.
        let scan = InputScan(settings.scanner)
        clock.mark("scan")
        let signature = settings.signature(of: scan)
        if let last = await previous.unchanged(signature) {
            clock.mark("read")
            return Report(unchanged: last, phases: clock.phases)
        }
        await state.forgetInputSignature()
        var report = Report(scan)
        let (cache, cacheDamaged) = await previous.readCache()
        let inputs = await PackageInputs.read(
            scan, cache: consume cache, started: started, concurrency: options.concurrency, progress: progress)
        report.add(inputs, cacheDamaged: cacheDamaged)
        let symbols = SymbolInputs(
            scan, root: settings.scanner.root, previous: await state.read(.symbols), started: started)
        clock.mark("read")

        // 2. The plan, from the previous build's records and what this one found (pure).
        let records = await previous.loaded(cacheDamaged: cacheDamaged)
        records.notes.forEach { report.note($0) }
        let globalKey = settings.globalKey()
        let policyKey = settings.policyKey()
        let feedPresent = await sink.exists("index.json")
        var planInput = BuildPlan.Input(
            globalKey, records, inputs, full: options.full, feedPresent: feedPresent,
            policyTouched: settings.policyTouched(records.ids, policyKey: policyKey))
        planInput.touchedIds.formUnion(symbols.touched)
        let plan = BuildPlan(planInput)
        plan.notes.forEach { report.note($0) }

        // 3. The dirty ids put together; which of them to render; the catalog's new items.
        var assembly = IdAssembly(inputs: inputs, settings: settings, started: started)
        assembly.symbols = symbols
        var feed = AssembledFeed(
            plan: plan, previous: records.ids, history: records.history, keys: (globalKey, policyKey),
            assembly: assembly,
            digest: { [extras, layout = settings.layout] in FeedRenderer.digest($0, extras: extras, layout: layout) })
        let summary = feed.summary(policy: settings.policy)
        report.add(summary, rendered: feed.changed.count, notes: inputs.timestampsInFuture())
        symbols.settle(assembled: feed.dirty, present: feed.present)
        report.skipped += symbols.problems
        report.symbolPackagesServed = symbols.served
        let (catalog, added) = (feed.catalog, feed.catalogAdded)
        report.catalogItemsAdded = added
        clock.mark("model")

        // 4. Render and 5. commit: the dirty ids a batch at a time, then the feed-wide documents,
        // the records and the removals.
        let renderer = FeedRenderer(
            layout: settings.layout, extras: extras, vulnerabilities: settings.vulnerabilities(summary.digests),
            gzipRegistrations: options.gzipRegistrations)
        let model = feed.model
        let shown = feed.shownInSearch(summary.digests, assembly: assembly)
        var commit = await FeedCommit(
            sink: sink, state: state, leftovers: records.leftovers, sweep: plan.sweep, faults: options.faults)
        commit.keep = symbols.servedPaths
        try await commit.run(
            &feed, previous: records.ids, renderer: renderer, clock: &clock, progress: progress,
            feedWide: {
                renderer.renderFeedWide(
                    summary.digests, shown: shown, model: model, catalog: catalog, added: added,
                    keepCatalogPagesBefore: plan.catalogPagesKept(catalog, added: added))
            },
            records: .init(
                inputs: inputs, plan: plan, full: options.full, catalog: catalog,
                policyChanged: records.ids.policyKey != policyKey, options: settings.optionsRecord,
                policyFiles: settings.policyRecords()))
        commit.notes.forEach { report.note($0) }
        try await state.write(.symbols, symbols.encoded())
        clock.mark("write")

        // 6. The record of a finished build, last: a build that fails before this point is never
        // mistaken for a finished one.
        report.add(commit.summary, phases: clock.phases)
        try await state.recordFinishedBuild(
            report.last, signature: scan.changed(justBefore: started) ? nil : signature)
        if options.leaveRecordsToExit { LeftToExit.keep([inputs, records, feed, catalog, summary, scan]) }
        return report
    }

    /// Whether a file changed so shortly before a build `started` (nanoseconds since 1970) that
    /// a rewrite in the same clock tick, after the build read it, would leave its identity as it
    /// was: git calls such files "racily clean". Such a file is hashed when copied, is not kept in
    /// the read cache, and keeps the build from being recorded as a no-op, so that the next
    /// build reads it again. The tick is a few milliseconds where times carry nanoseconds, up to
    /// two seconds where they carry whole seconds (FAT, some network file systems).
    static func isRacy(_ identity: FileIdentity, started: Int64) -> Bool {
        let wholeSeconds = identity.mtime % 1_000_000_000 == 0 && identity.ctime % 1_000_000_000 == 0
        let tick: Int64 = wholeSeconds ? 2_000_000_000 : 20_000_000
        return identity.ctime >= started - tick || identity.mtime >= started - tick
    }

    /// What retention leaves out of the feed (for `shelf prune`): the package files, with their
    /// paths relative to the input folder, and the policy file used. Reads every package; writes
    /// nothing.
    public func retentionPlan() async throws -> (
        files: [(path: String, relative: String, archive: PackageArchive)], policy: String?
    ) {
        let settings = try BuildSettings(options, extras: [], writing: false)
        guard let policy = settings.policy, let path = options.resolvedPolicyPath else { return ([], nil) }
        let scanner = settings.scanner
        let scan = scanner.scan()
        let archives = await PackageInputs.readAll(scan.packages, concurrency: options.concurrency, progress: nil)
            .compactMap { try? $0.get() }
        let model = FeedModel(packages: archives, relativePath: scanner.relative)
        let outcome = policy.apply(to: model, relativePath: scanner.relative)
        return (outcome.pruned.map { ($0.path, scanner.relative($0.path), $0) }, path)
    }
}

/// What the previous build left: its journal (when it did not finish), and its records, loading
/// on the other core while the input folder is scanned (a build that finds nothing changed does
/// not wait for them).
struct PreviousRecords: Sendable {
    let state: any StateStore
    /// An earlier build did not finish; the paths its journal names.
    let unfinished: Bool
    let leftovers: [String]
    let cache: Task<Handover<(cache: ReadCache, damaged: Bool)>?, Never>
    let ids: Task<(state: IdState?, damaged: Bool), Never>
    let catalog: Task<(history: CatalogState, notes: [BuildNote]), Never>
    let full: Bool

    /// Starts loading. `full`: the read cache is not loaded (every package is read anyway).
    /// `unfinished`, `leftovers`: whether the last build left its journal, and what it names.
    init(state: any StateStore, sink: any FeedSink, full: Bool, unfinished: Bool, leftovers: [String]) {
        self.state = state
        self.full = full
        self.unfinished = unfinished
        self.leftovers = leftovers
        cache = Task { full ? nil : Handover(await state.loadReadCache()) }
        ids = Task { await state.loadIdState() }
        catalog = Task { await state.loadCatalogHistory(readFeed: sink.read) }
    }

    /// The last report, when the last build finished with this input signature and its records
    /// are as it left them: nothing changed since.
    func unchanged(_ signature: String) async -> InputSignature.LastReport? {
        guard !full, !unfinished, let stored = await state.inputSignature() else { return nil }
        guard stored == signature + "\n" + (await state.recordIdentity()) else { return nil }
        return await state.lastReport()
    }

    /// The read cache, handed over whole (an empty one for `--full`).
    func readCache() async -> (cache: ReadCache, damaged: Bool) {
        await cache.value?.take() ?? (ReadCache(), false)
    }

    /// The per-id record and the catalog history, once loaded, with what to say about them.
    func loaded(cacheDamaged: Bool) async -> Loaded {
        let (ids, idsDamaged) = await ids.value
        let (history, catalogNotes) = await catalog.value
        return Loaded(
            ids: ids ?? IdState(globalKey: ""), idsMissing: ids == nil, idsDamaged: idsDamaged,
            cacheDamaged: cacheDamaged, history: history, unfinished: unfinished, leftovers: leftovers,
            builtBefore: await state.hasFinishedBuild(),
            notes: (idsDamaged && !full ? [.idRecordDamaged] : []) + catalogNotes)
    }

    func cancel() { cache.cancel() }

    /// The previous build's records, loaded.
    struct Loaded: Sendable {
        /// The per-id record (empty when there is none).
        var ids: IdState
        var idsMissing: Bool
        var idsDamaged: Bool
        var cacheDamaged: Bool
        var history: CatalogState
        var unfinished: Bool
        var leftovers: [String]
        /// A Shelf build finished in this folder before.
        var builtBefore: Bool
        var notes: [BuildNote]
    }
}

extension BuildPlan.Input {
    /// The plan's input from this build's global key, the previous build's records and the inputs.
    init(
        _ globalKey: String, _ records: PreviousRecords.Loaded, _ inputs: PackageInputs, full: Bool,
        feedPresent: Bool, policyTouched: Set<String>
    ) {
        self.init(
            full: full, globalKey: globalKey, previous: records.ids, previousMissing: records.idsMissing,
            previousDamaged: records.idsDamaged, readCacheDamaged: records.cacheDamaged,
            catalogRestarted: records.history.items.isEmpty, unfinishedBefore: records.unfinished,
            builtBefore: records.builtBefore, feedPresent: feedPresent, inputIds: Set(inputs.byId.keys),
            touchedIds: inputs.touchedIds, policyTouched: policyTouched,
            interruptedIds: records.unfinished ? Set(records.leftovers.compactMap(FeedLayout.idOfPath)) : [])
    }
}

/// Wall time per phase of a build.
struct PhaseClock {
    var last = Date()
    var phases: [(String, Double)] = []

    mutating func mark(_ name: String) {
        let now = Date()
        phases.append((name, now.timeIntervalSince(last)))
        last = now
    }
}

extension BuildSettings {
    /// Advisories for `VulnerabilityInfo/6.7.0`, for the ids of the feed; nil when the policy
    /// has none.
    func vulnerabilities(_ digests: [IdDigest]) -> [VulnerabilityEntry]? {
        policy.flatMap {
            $0.vulnerabilities.isEmpty ? nil : $0.vulnerabilityEntries(forIds: digests.map { ($0.lowerId, $0.id) })
        }
    }
}

extension BuildPlan {
    /// Catalog pages already on disk with the bytes this build would write (their items never
    /// change and the base URL is the same): not rendered again.
    func catalogPagesKept(_ catalog: CatalogState, added: Int) -> Int {
        guard sameGlobal else { return 0 }
        return added == 0 ? Int.max : (catalog.items.count - added) / CatalogLayout.pageSize
    }
}

extension AssembledFeed {
    /// The ids search shows in full, put together: those not put together already are, now.
    func shownInSearch(_ digests: [IdDigest], assembly: IdAssembly) -> [String: PackageRegistration] {
        var shown: [String: PackageRegistration] = [:]
        for r in served { shown[r.lowerId] = r }
        let missing = SearchRenderer.shownIds(digests).filter { shown[$0] == nil }
        for (id, (r, _)) in assembly.assemble(missing) { shown[id] = r }
        return shown
    }
}
