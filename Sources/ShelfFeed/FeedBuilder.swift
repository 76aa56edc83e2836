import Crypto
import Foundation
import NuGetCore

/// `shelf build`: scan → read → model → render → write.
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
        /// process's exit to free, rather than taken apart one object at a time: for a one-shot
        /// command that is about a tenth of a small rebuild of a large feed.
        public var leaveRecordsToExit = false

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

        /// The policy file this build uses, if any.
        public var resolvedPolicyPath: String? {
            if let policyPath { return policyPath }
            let candidate = (input as NSString).appendingPathComponent(FeedPolicy.fileName)
            return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
        }
    }

    /// What a build did, for the summary line and `--json`.
    public struct Report: Sendable {
        public var packageFiles = 0
        public var packagesRead = 0
        /// Package files opened by this build (the others came from the read cache).
        public var packagesOpened = 0
        /// Ids whose documents this build rendered (the others were unchanged).
        public var idsRendered = 0
        /// No input changed since the last build, so nothing was read, rendered or written.
        public var nothingChanged = false
        public var ids = 0
        public var versions = 0
        public var skipped: [Diagnostic] = []
        public var warnings: [Diagnostic] = []
        public var symbolPackages = 0
        public var filesWritten = 0
        public var filesUnchanged = 0
        public var filesRemoved = 0
        public var bytesWritten: Int64 = 0
        public var catalogItemsAdded = 0
        /// Versions retention left out of the feed.
        public var pruned = 0
        /// Seconds per phase (scan, read, model, render, write), for `--json` and benchmarks.
        public var phases: [(String, Double)] = []
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

    /// Progress for a terminal: how far reading and writing have come.
    public enum Progress: Sendable {
        case reading(done: Int, total: Int)
        case writing(done: Int, total: Int)
    }

    public enum BuildError: Error, CustomStringConvertible {
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
    /// Renderers from other modules (the package site).
    public let extras: [any FeedDocumentRenderer]

    public init(options: Options, extras: [any FeedDocumentRenderer] = []) {
        self.options = options
        self.extras = extras
    }

    public func run(progress: (@Sendable (Progress) -> Void)? = nil) async throws -> Report {
        // When this build started, for files changed too recently for their identity to show a
        // rewrite in the same clock tick (`isRacy`). The clock decides only that; it never goes
        // into the feed.
        let started = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.input, isDirectory: &isDir), isDir.boolValue else {
            throw BuildError.inputMissing(options.input)
        }
        var policy: FeedPolicy?
        if let path = options.resolvedPolicyPath {
            do throws(PolicyError) {
                policy = try FeedPolicy.load(path: path)
            } catch {
                throw BuildError.policy(error)
            }
        }
        let scanner = PackageScanner(root: options.input, excluding: [options.output])
        if scanner.root == PackageScanner.standardize(options.output) {
            throw BuildError.outputInsideFeed(options.output)
        }
        var clock = PhaseClock()
        var report = Report()
        // The output folder's lock is held from before its state is read until the feed is written.
        let sink = LocalFolderSink(root: options.output, concurrency: options.concurrency)
        let lock = try sink.lock()
        defer { sink.unlock(lock) }
        // The read cache loads on one core while the input folder is scanned on the other (a
        // no-op build, decided from the scan alone, does not wait for it).
        let full = options.full
        let root = scanner.root
        let loading = Task { full ? nil : Handover(await ReadCache.load(sink: sink)) }
        defer { loading.cancel() }
        let loadingIds = Task { await IdState.load(sink: sink) }
        let loadingCatalog = Task {
            var notes = Report()
            let state = Self.loadCatalog(sink, &notes)
            return (state, notes.warnings)
        }

        let scan = scanner.scan()
        clock.mark("scan")
        report.packageFiles = scan.packages.count
        report.symbolPackages = scan.symbolPackages.count
        report.warnings += scan.problems

        // Nothing changed since the last build: stop here.
        let stamps = zip(scan.packages, scan.stamps).map { (relative: scanner.relative($0), stamp: $1) }
        let signature = InputSignature.compute(
            packages: stamps, symbolPackages: scan.symbolPackages.count,
            policyFiles: (options.resolvedPolicyPath.map { [$0] } ?? []) + (policy?.advisoryFiles ?? []),
            settings: [
                IdState.outputFormat, FeedLayout(baseURL: options.baseURL).baseURL,
                extras.map { String(describing: type(of: $0)) }.joined(separator: ","),
                options.warnOnPrefixViolation ? "warn" : "refuse",
                "host=\(options.host ?? "")", options.gzipRegistrations ? "gzip" : "plain",
            ])
        // A build that was killed or failed may have written part of its records (a read-cache
        // shard, not yet the per-id one): this build trusts none of them to say what is dirty.
        let unfinishedBefore = sink.hasUnfinishedBuild
        if !options.full, !unfinishedBefore, let old = sink.read(InputSignature.path),
            String(decoding: old, as: UTF8.self) == signature + "\n" + InputSignature.outputStamps(sink.root),
            let data = sink.read(InputSignature.reportPath),
            let last = try? JSONDecoder().decode(InputSignature.LastReport.self, from: data)
        {
            report.packageFiles = last.packageFiles
            report.packagesRead = last.packagesRead
            report.ids = last.ids
            report.versions = last.versions
            report.skipped = last.skipped
            report.warnings = last.warnings
            report.symbolPackages = last.symbolPackages
            report.pruned = last.pruned
            report.filesUnchanged = last.files
            report.nothingChanged = true
            clock.mark("read")
            report.phases = clock.phases
            return report
        }

        // Until this build finishes, no signature: a build killed midway must not let a later
        // run with the old input skip the repair.
        sink.removeState(InputSignature.path)

        var cache = ReadCache()
        var recordsDamaged = false
        if let loaded = await loading.value?.take() {
            cache = loaded.cache
            recordsDamaged = loaded.damaged
            if loaded.damaged {
                report.warnings.append(
                    Diagnostic(
                        severity: .note, file: nil,
                        message: "part of the read cache (.shelf/read-cache/) is damaged or from another version of "
                            + "shelf; the packages it covered are read again"))
            }
        }

        // Only new or changed files are opened; the rest come from the read cache, as records
        // that are decoded only if their id has to be put together again.
        let paths = scan.packages
        let relatives = stamps.map(\.relative)
        let noStamp = ReadCache.Stamp(size: -1, mtime: 0, ctime: 0, inode: 0, device: 0)
        var entries = [ReadCache.Entry](repeating: ReadCache.Entry(stamp: noStamp, failure: ""), count: paths.count)
        var toRead: [Int] = []
        for i in paths.indices {
            let (rel, stamp) = stamps[i]
            if let stamp, let hit = cache.entries[rel], hit.stamp == stamp {
                entries[i] = hit
            } else {
                toRead.append(i)
            }
        }
        // Paths the last build knew that are gone or changed now, and the ids they were of.
        let hits = paths.count - toRead.count
        var leftCache: [String] = []
        var leftIds = Set<String>()
        if cache.entries.count != hits {
            var hitPaths = Set<String>(minimumCapacity: hits)
            let reading = Set(toRead)
            for i in paths.indices where !reading.contains(i) { hitPaths.insert(relatives[i]) }
            leftCache = cache.entries.keys.filter { !hitPaths.contains($0) }
            for rel in leftCache { leftIds.insert(cache.entries[rel]!.lowerId) }
        }
        let hadCache = !cache.entries.isEmpty
        // The new cache is the old one (not copied: it is not used again) with this build's changes.
        var next = consume cache
        let readPaths = Set(toRead.map { relatives[$0] })
        for rel in leftCache where !readPaths.contains(rel) { next.entries[rel] = nil }
        let results = await readAll(toRead.map { paths[$0] }, progress: progress)
        for (i, result) in zip(toRead, results) {
            // A file that moved since the scan may have been read half old, half new: skipped
            // for this build and not cached, so the next build reads it again.
            let stamp = ReadCache.Stamp.of(paths[i])
            if stamp != stamps[i].stamp || result.isChangedWhileReading {
                entries[i] = ReadCache.Entry(
                    stamp: noStamp, failure: PackageArchiveError.changedWhileReading.description)
                next.entries[relatives[i]] = nil
                continue
            }
            let entry: ReadCache.Entry
            switch result {
            case .success(let a): entry = ReadCache.Entry(stamp: stamp ?? noStamp, archive: a)
            case .failure(let e): entry = ReadCache.Entry(stamp: stamp ?? noStamp, failure: e.description)
            }
            entries[i] = entry
            // A file whose identity cannot be read, or changed just before this build, is not
            // cached: the next build reads it again.
            next.entries[relatives[i]] = stamp.map { !Self.isRacy($0, started: started) } == true ? entry : nil
        }
        report.packagesOpened = toRead.count
        clock.mark("read")

        var pathsById: [String: [Int]] = [:]
        for (i, entry) in entries.enumerated() {
            if let why = entry.failure {
                report.skipped.append(Diagnostic(severity: .error, file: relatives[i], message: why))
                continue
            }
            for w in entry.warnings {
                report.warnings.append(Diagnostic(severity: .warning, file: relatives[i], message: w))
            }
            pathsById[entry.lowerId, default: []].append(i)
        }
        report.packagesRead = pathsById.values.reduce(0) { $0 + $1.count }

        // Ids whose input is exactly what an earlier build put together keep their record: their
        // packages are not even decoded. Everything an id's documents depend on beyond its own
        // files (base URL, renderers, the policy's contents and options, Shelf's output format)
        // is in the global key; when that changes, every id is put together again.
        let layout = FeedLayout(baseURL: options.baseURL)
        let policyFiles = (options.resolvedPolicyPath.map { [$0] } ?? []) + (policy?.advisoryFiles ?? [])
        let globalKey = IdState.globalKey(
            baseURL: layout.baseURL,
            renderers: extras.map { String(describing: type(of: $0)) } + (options.gzipRegistrations ? ["gzip"] : []),
            settings: [options.warnOnPrefixViolation ? "warn" : "refuse"]
                + policyFiles.map { path in
                    (try? Data(contentsOf: URL(fileURLWithPath: path))).map { Hex.string(SHA256.hash(data: $0)) }
                        ?? "missing"
                })
        let loadedIds = await loadingIds.value
        if loadedIds.damaged && !options.full {
            report.warnings.append(
                Diagnostic(
                    severity: .note, file: nil,
                    message: "part of the per-id record (.shelf/ids/) is damaged or from another version of shelf; "
                        + "those ids are rendered again"))
        }
        let previousIds = loadedIds.state ?? IdState(globalKey: "")
        let (previous, catalogNotes) = await loadingCatalog.value
        report.warnings += catalogNotes
        // A catalog that had to start again must hear of every version.
        let sameGlobal =
            !options.full && previousIds.globalKey == globalKey
            && !(previous.items.isEmpty && !previousIds.entries.isEmpty)
        // The records say which ids are dirty only when they are whole and the last build
        // finished; otherwise every id is put together again (and those whose fingerprint is
        // unchanged are still not rendered).
        let trustRecords = sameGlobal && !recordsDamaged && !loadedIds.damaged && !unfinishedBefore

        var dirty = Set<String>()
        if trustRecords {
            for i in toRead where !entries[i].lowerId.isEmpty { dirty.insert(entries[i].lowerId) }
            for id in leftIds where !id.isEmpty { dirty.insert(id) }
            for id in pathsById.keys where previousIds.entries[id] == nil { dirty.insert(id) }
            for id in previousIds.entries.keys where pathsById[id] == nil { dirty.insert(id) }
        } else {
            dirty = Set(pathsById.keys).union(previousIds.entries.keys)
        }
        // Whether a Shelf build finished in this folder before: only then are files named as
        // Shelf's taken for Shelf's own (a new output folder may hold someone else's, and a
        // first build killed midway leaves part of its records). These two files are written
        // after every document of a build.
        let builtBefore = [Self.feedFilesPath, InputSignature.reportPath].contains {
            access(sink.root + "/" + $0, F_OK) == 0
        }
        if loadedIds.state == nil && !loadedIds.damaged && builtBefore {
            report.warnings.append(
                Diagnostic(
                    severity: .note, file: nil,
                    message: "the per-id record of the last build (.shelf/ids/) is missing; every id is put together "
                        + "again, and the output folder is listed for files of packages no longer in the input"))
        } else if !builtBefore, access(sink.root + "/index.json", F_OK) == 0 {
            report.warnings.append(
                Diagnostic(
                    severity: .warning, file: nil,
                    message: "the output folder holds a feed that no finished shelf build recorded (.shelf/ is "
                        + "missing or incomplete): files there that this build does not write are left as they are, "
                        + "so packages no longer in the input may still be found. Build into an empty folder (or "
                        + "empty this one) for a feed of exactly this input"))
        }

        // When the per-id record cannot say which files earlier builds wrote (it is missing or
        // damaged, or the file list of an id whose files may change is), the output folder is
        // listed instead, and files named as Shelf's that no id of this build has are removed.
        var sweep = builtBefore && (loadedIds.state == nil || loadedIds.damaged)
        if !sweep {
            let unreadable = FeedRenderer.concurrentMap(dirty.sorted(), pieces: 16) { id in
                previousIds.entries[id].map { $0.readPaths() == nil } ?? false
            }
            let count = unreadable.filter { $0 }.count
            if count > 0 {
                sweep = true
                report.warnings.append(
                    Diagnostic(
                        severity: .note, file: nil,
                        message: "the record of which files \(count) id(s) had (.shelf/ids/) is damaged; "
                            + "the output folder is listed to find them"))
            }
        }
        // Every id that keeps its files as they are must name them: one whose list is damaged is
        // put together again.
        var damagedLists = Set<String>()
        if sweep && sameGlobal {
            let kept = previousIds.entries.filter { $0.value.digest != nil }.map(\.key)
            let unreadable = FeedRenderer.concurrentMap(kept, pieces: 16) { id in
                previousIds.entries[id]!.readPaths() == nil ? id : nil
            }
            damagedLists = Set(unreadable.compactMap { $0 })
            dirty.formUnion(damagedLists)
        }

        // Each dirty id is put together on its own (the policy never looks at another id), on all cores.
        let scannerCopy = scanner
        let policyCopy = policy
        let warnOn = options.warnOnPrefixViolation
        let entryList = entries
        let byId = pathsById
        func assemble(_ ids: [String]) -> [String: (PackageRegistration?, IdState.Entry)] {
            let made = FeedRenderer.concurrentMap(ids, pieces: 32) { id in
                Self.assemble(
                    id, files: (byId[id] ?? []).map { (paths[$0], entryList[$0]) }, root: root,
                    policy: policyCopy, warnOnPrefixViolation: warnOn, relativePath: scannerCopy.relative,
                    started: started)
            }
            var out: [String: (PackageRegistration?, IdState.Entry)] = [:]
            for (id, r, e) in made { out[id] = (r, e) }
            return out
        }
        var assembled = assemble(dirty.filter { byId[$0] != nil }.sorted())
        // Every id in the feed: those kept as they were, and the dirty ones that are served.
        var present = Set<String>()
        for (id, e) in previousIds.entries where e.digest != nil && !dirty.contains(id) { present.insert(id) }
        for (id, (r, _)) in assembled where r != nil { present.insert(id) }
        // An id that comes or goes changes the pages of the ids that depend on it (they link it).
        let cameOrWent = dirty.filter { (previousIds.entries[$0]?.digest != nil) != (assembled[$0]?.0 != nil) }
        if trustRecords && !cameOrWent.isEmpty {
            var dependents: [String] = []
            for (id, e) in previousIds.entries where !dirty.contains(id) {
                if let d = e.digest, d.dependencies.contains(where: cameOrWent.contains) { dependents.append(id) }
            }
            dirty.formUnion(dependents)
            assembled.merge(assemble(dependents.sorted())) { a, _ in a }
        }

        // Fingerprints and digests of the dirty ids that are served, on all cores.
        let renderer = FeedRenderer(layout: layout, extras: extras)
        let served = assembled.values.compactMap(\.0).sorted {
            PackageScanner.bytesPrecede($0.lowerId, $1.lowerId)
        }
        let presentIds = present
        let made = FeedRenderer.concurrentMap(served, pieces: 16) { r in
            let digest = renderer.digest(r)
            return (IdState.fingerprint(r, linking: digest.dependencies, presentIds: presentIds), digest)
        }
        clock.mark("model")
        var nextIds = IdState(globalKey: globalKey)
        if sameGlobal {
            // The other ids keep their records (the dictionary is copied whole, not rebuilt).
            nextIds.entries = previousIds.entries
            for id in dirty where assembled[id] == nil { nextIds.entries[id] = nil }
        }
        for (id, (_, e)) in assembled { nextIds.entries[id] = e }
        var changed: [PackageRegistration] = []
        for (r, (fingerprint, digest)) in zip(served, made) {
            var e = nextIds.entries[r.lowerId]!
            e.fingerprint = fingerprint
            e.digest = digest
            if sameGlobal, let old = previousIds.entries[r.lowerId], old.digest != nil, old.fingerprint == fingerprint,
                !damagedLists.contains(r.lowerId)
            {
                e.storedPaths = old.storedPaths
            } else {
                changed.append(r)
            }
            nextIds.entries[r.lowerId] = e
        }
        // Ids whose files go: no longer in the input, or no longer served.
        let removedIds = previousIds.entries.keys.filter { dirty.contains($0) && nextIds.entries[$0]?.digest == nil }
        report.idsRendered = changed.count

        // The report covers every id, from the records of those not put together again.
        let inputIds = nextIds.entries.keys.sorted(by: PackageScanner.bytesPrecede)
        // One look at each id's record (a copy of it, at 100,000 versions a few tens of
        // milliseconds per pass): the model's notes of every id come first, then the policy's.
        var used = Set<String>()
        var modelWarnings: [Diagnostic] = []
        var policyWarnings: [Diagnostic] = []
        var digests: [IdDigest] = []
        digests.reserveCapacity(inputIds.count)
        for id in inputIds {
            let e = nextIds.entries[id]!
            modelWarnings += e.modelDiagnostics
            report.skipped += e.refused
            policyWarnings += e.policyDiagnostics
            report.pruned += e.pruned
            used.formUnion(e.policyUsed)
            if let digest = e.digest { digests.append(digest) }
        }
        report.warnings += modelWarnings + policyWarnings
        if let policy { report.warnings += policy.unusedDiagnostics(used: used) }
        // The clock is read only to warn; it never goes into the feed.
        let tomorrow = Date().addingTimeInterval(86_400)
        for (i, entry) in entryList.enumerated() where entry.failure == nil && entry.packedAt > tomorrow {
            report.warnings.append(
                Diagnostic(
                    severity: .warning, file: relatives[i],
                    message:
                        "the package's timestamp (\(RegistrationRenderer.timestamp(entry.packedAt))) is in the future; "
                        + "its published date and catalog commit time follow it, and later catalog commits come after it. "
                        + "Repack it on a machine with a correct clock"))
        }
        report.ids = digests.count
        report.versions = digests.reduce(0) { $0 + $1.versionCount }

        // The catalog hears of the dirty ids only: the others did not change.
        let model = FeedModel(registrations: served, diagnostics: [], presentIds: present)
        let (catalog, added) = previous.appending(model, only: trustRecords ? dirty : nil)
        report.catalogItemsAdded = added
        let vulnerabilities = policy.flatMap {
            $0.vulnerabilities.isEmpty ? nil : $0.vulnerabilityEntries(forIds: digests.map { ($0.lowerId, $0.id) })
        }
        clock.mark("plan")

        // Files an earlier, unfinished build recorded (read before this build adds its own).
        let leftovers = sink.unfinishedPaths()
        // What the output folder holds before this build writes (nothing, in a new one).
        let listed = sweep ? sink.files(below: FeedLayout.perIdFolders).filter(FeedLayout.isPerIdDocumentName) : []

        // Per-id documents, rendered and written a batch of ids at a time (so that memory holds
        // one batch, not the feed). Each batch's paths go to the journal before its files.
        let documents = FeedRenderer(layout: layout, extras: extras, vulnerabilities: vulnerabilities)
        var summary = LocalFolderSink.Summary()
        var stale: [String] = []
        let batchSize = 256
        let totalIds = changed.count
        for start in stride(from: 0, to: changed.count, by: batchSize) {
            let batch = Array(changed[start..<min(start + batchSize, changed.count)])
            let perId = documents.renderIds(batch, model: model)
            var docs = perId.values.flatMap { $0 }
            if options.gzipRegistrations {
                docs = FeedRenderer.concurrentMap(docs, pieces: 8, Self.gzippedIfRegistration)
            }
            try sink.journal(docs.map(\.path))
            let done = start
            let part = try await sink.writeDocuments(docs) { n in
                progress?(.writing(done: done + min(n, batchSize), total: totalIds))
            }
            summary.add(part)
            for (id, list) in perId {
                let paths = list.map(\.path)
                let old = Set(previousIds.entries[id]?.paths ?? [])
                stale += old.subtracting(paths)
                nextIds.entries[id]?.paths = paths
            }
        }
        for id in removedIds { stale += previousIds.entries[id]?.paths ?? [] }
        // What goes is journaled before this build's record (.shelf/ids/, written with the
        // feed-wide documents) stops naming it: if the build is killed from then on, the journal
        // is what tells the next build to remove it.
        try sink.journal(stale)

        // Feed-wide documents (the service index last) and the record of this build.
        var keepPages = 0
        if sameGlobal {
            keepPages = added == 0 ? Int.max : (catalog.items.count - added) / CatalogLayout.pageSize
        }
        // Search shows a few ids in full: those not put together above are, now.
        var shown: [String: PackageRegistration] = [:]
        for r in served { shown[r.lowerId] = r }
        let missing = SearchRenderer.shownIds(digests).filter { shown[$0] == nil }
        for (id, (r, _)) in assemble(missing) { shown[id] = r }
        var feedWide = documents.renderFeedWide(
            digests, shown: shown, model: model, catalog: catalog, added: added, keepCatalogPagesBefore: keepPages)
        // Only the read-cache shards that changed are written again.
        var dirtyShards = Set(toRead.map { ReadCache.shard(of: relatives[$0]) })
        for path in leftCache { dirtyShards.insert(ReadCache.shard(of: path)) }
        if options.full || !hadCache || !trustRecords { dirtyShards = Set(0..<ReadCache.shardCount) }
        for (n, data) in next.encodedShards(only: dirtyShards) {
            feedWide.append(
                FeedDocument(
                    path: ReadCache.shardPath(n), content: .bytes(data), contentType: "application/octet-stream",
                    phase: .serviceIndex))
        }
        var idShards = Set(dirty.map(IdState.shard(of:)))
        if !trustRecords { idShards = Set(0..<IdState.shardCount) }
        for (n, data) in nextIds.encodedShards(only: idShards) {
            feedWide.append(
                FeedDocument(
                    path: IdState.shardPath(n), content: .bytes(data), contentType: "application/octet-stream",
                    phase: .serviceIndex))
        }
        let feedWidePaths = feedWide.map(\.path)
        let feedWideSet = Set(feedWidePaths)
        // What this build's feed is made of: every id's files and the feed-wide ones.
        func currentFiles() -> Set<String> {
            var current = feedWideSet
            for e in nextIds.entries.values { current.formUnion(e.paths) }
            return current
        }
        // Files named as Shelf's that the output folder held and this build's feed does not
        // have: journaled before the record that no longer names them is written (with the
        // feed-wide documents), so that a build killed from then on still has them removed.
        var current: Set<String>?
        var swept: [String] = []
        if sweep && !listed.isEmpty {
            let files = currentFiles()
            current = files
            swept = listed.filter { !files.contains($0) }
            if !swept.isEmpty {
                report.warnings.append(
                    Diagnostic(
                        severity: .note, file: nil,
                        message: "\(swept.count) file(s) in the output folder named as shelf names its own belong "
                            + "to no package of the input; they are removed"))
            }
        }
        try sink.journal(feedWidePaths + swept)
        stale += swept
        clock.mark("render")
        summary.add(try await sink.writeDocuments(feedWide))
        // A fault point for the tests: the process dies here, as if killed, with this build's
        // record written and nothing removed yet.
        if ProcessInfo.processInfo.environment["SHELF_FAULT"] == "after-record" { _exit(137) }
        // Feed-wide files of the last build that this one did not write (the site after --no-site,
        // vulnerability info after its advisories went). The catalog only grows, and Shelf's own
        // record files under .shelf/ are kept even when this build did not rewrite them.
        let oldFeedWide =
            sink.read(Self.feedFilesPath).map {
                $0.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            } ?? []
        let oldFeedWideGone = oldFeedWide.filter {
            !feedWideSet.contains($0) && !$0.hasPrefix("catalog/") && !$0.hasPrefix(".shelf/")
        }
        try sink.journal(oldFeedWideGone)
        stale += oldFeedWideGone
        // Recorded without the catalog (it only grows) and Shelf's own records, which are never
        // removed this way: after a full build that would be a line per catalog leaf, read back
        // by every later build.
        let removable = feedWidePaths.filter { !$0.hasPrefix("catalog/") && !$0.hasPrefix(".shelf/") }
        try sink.writeState(Self.feedFilesPath, Data((removable.sorted().joined(separator: "\n") + "\n").utf8))

        // A build that was killed left files of its own: keep those this build has, remove the rest.
        let unfinished = leftovers
        if !unfinished.isEmpty {
            var kept = current ?? currentFiles()
            for item in catalog.items { kept.insert(CatalogLayout.leaf(item)) }
            for n in 0..<ReadCache.shardCount { kept.insert(ReadCache.shardPath(n)) }
            for n in 0..<IdState.shardCount { kept.insert(IdState.shardPath(n)) }
            // The catalog only grows: a page or leaf the killed build wrote is part of it (or an
            // unlinked leaf, harmless), never a leftover to remove.
            stale += unfinished.filter {
                !kept.contains($0) && !$0.hasPrefix(".shelf/") && !$0.hasPrefix("catalog/")
            }
        }
        // Everything in `stale` is in the journal by now: this build's own removals (above), and
        // an unfinished build's leftovers, which came from the journal. Never a file this build
        // wrote, whatever a record said.
        var goners = Set(stale)
        goners.subtract(feedWideSet)
        for r in changed { goners.subtract(nextIds.entries[r.lowerId]?.paths ?? []) }
        // A fault point for the tests: the process dies here, as if killed, before removing.
        if ProcessInfo.processInfo.environment["SHELF_FAULT"] == "before-remove", !goners.isEmpty { _exit(137) }
        let removal = sink.removeFiles(goners)
        summary.removed = removal.removed
        sink.finishJournal()
        if !removal.failed.isEmpty {
            // Left in the journal, as a killed build's are: the next build tries them again.
            try sink.journal(removal.failed.map(\.path))
            let first = removal.failed.min { $0.path < $1.path }!
            let count = removal.failed.count
            report.warnings.append(
                Diagnostic(
                    severity: .warning, file: nil,
                    message: "\(first.path) in the output folder\(count == 1 ? "" : " and \(count - 1) more files"), "
                        + "left from packages no longer in the input, could not be removed (\(first.reason)). No index "
                        + "lists them, but their URLs still work. Fix the output folder's permissions and build again: "
                        + "the next build removes them"))
        }
        clock.mark("write")
        report.phases = clock.phases
        report.filesWritten = summary.written
        // Recorded last: a build that fails before this point is never mistaken for a finished one.
        let last = InputSignature.LastReport(
            packageFiles: report.packageFiles, packagesRead: report.packagesRead, ids: report.ids,
            versions: report.versions, skipped: report.skipped, warnings: report.warnings,
            symbolPackages: report.symbolPackages, pruned: report.pruned, files: summary.written + summary.unchanged)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try sink.writeState(InputSignature.reportPath, (try? encoder.encode(last)) ?? Data())
        // No signature while an input changed just before this build: the next build looks at
        // it again rather than stopping as a no-op.
        if !stamps.contains(where: { $0.stamp.map { Self.isRacy($0, started: started) } ?? false }) {
            try sink.writeState(
                InputSignature.path, Data((signature + "\n" + InputSignature.outputStamps(sink.root)).utf8))
        }
        report.filesUnchanged = summary.unchanged
        report.filesRemoved = summary.removed
        report.bytesWritten = summary.bytesWritten
        if options.leaveRecordsToExit {
            LeftToExit.keep([
                next, previousIds, nextIds, entryList, entries, catalog, previous, assembled, digests, model,
                scan,
                stamps, relatives, pathsById,
            ])
        }
        return report
    }

    /// One id put together from its files: the registration as served (nil when the policy left
    /// nothing of it), and what was noticed on the way, for its record.
    static func assemble(
        _ lowerId: String, files: [(path: String, entry: ReadCache.Entry)], root: String, policy: FeedPolicy?,
        warnOnPrefixViolation: Bool, relativePath: (String) -> String, started: Int64 = 0
    ) -> (String, PackageRegistration?, IdState.Entry) {
        var archives: [PackageArchive] = []
        for (path, entry) in files {
            // A record that cannot be decoded: the file is read again.
            // (A file replaced meanwhile by another id's package waits for the next build.)
            if var a = entry.archive(root: root) {
                // Its bytes were hashed when the file had this identity (read by this build, or
                // a cache entry whose identity matched the scan's), unless it changed too
                // recently for the identity to tell.
                if entry.stamp.size >= 0, !Self.isRacy(entry.stamp, started: started) {
                    a.readIdentity = entry.stamp
                }
                if a.nuspec.id.lowercased() == lowerId { archives.append(a) }
            } else if let a = try? PackageArchive.read(path: path), a.nuspec.id.lowercased() == lowerId {
                archives.append(a)
            }
        }
        var e = IdState.Entry()
        guard !archives.isEmpty else { return (lowerId, nil, e) }
        let model = FeedModel(packages: archives, relativePath: relativePath)
        e.modelDiagnostics = model.diagnostics
        guard var r = model.registrations.first else { return (lowerId, nil, e) }
        if let policy {
            let outcome = policy.apply(
                to: r, warnOnPrefixViolation: warnOnPrefixViolation, relativePath: relativePath)
            e.refused = outcome.refused
            e.policyDiagnostics = outcome.diagnostics
            e.pruned = outcome.pruned.count
            e.policyUsed = outcome.used.sorted()
            guard let kept = outcome.registration else { return (lowerId, nil, e) }
            r = kept
        }
        return (lowerId, r, e)
    }

    /// The feed-wide files of the last build (ids' files are in `.shelf/ids/`).
    static let feedFilesPath = ".shelf/feed-files.txt"

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
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.input, isDirectory: &isDir), isDir.boolValue else {
            throw BuildError.inputMissing(options.input)
        }
        guard let path = options.resolvedPolicyPath else { return ([], nil) }
        let policy: FeedPolicy
        do throws(PolicyError) {
            policy = try FeedPolicy.load(path: path)
        } catch {
            throw BuildError.policy(error)
        }
        let scanner = PackageScanner(root: options.input, excluding: [options.output])
        let scan = scanner.scan()
        let archives = await readAll(scan.packages, progress: nil).compactMap { try? $0.get() }
        let model = FeedModel(packages: archives, relativePath: scanner.relative)
        let outcome = policy.apply(to: model, relativePath: scanner.relative)
        return (outcome.pruned.map { ($0.path, scanner.relative($0.path), $0) }, path)
    }

    /// The catalog history the previous build left: its state file, or, if that is missing or
    /// damaged, what the catalog on disk records.
    private static func loadCatalog(_ sink: LocalFolderSink, _ report: inout Report) -> CatalogState {
        if let data = sink.read(CatalogState.path) {
            do {
                let state = try CatalogState.decode(data, tail: sink.read(CatalogState.tailPath))
                // The state is written after the catalog; if a build stopped in between, the
                // catalog on disk (which followers may have read) is ahead: trust the catalog.
                let head = Self.catalogHead(sink)
                if head == nil || head == state.items.last?.commitId { return state }
                report.warnings.append(
                    Diagnostic(
                        severity: .note, file: nil,
                        message: "\(CatalogState.path) is behind the catalog (an earlier build stopped early); "
                            + "reading the history from the catalog"))
            } catch {
                report.warnings.append(
                    Diagnostic(
                        severity: .warning, file: nil,
                        message: "\(error); reading the history from the catalog in the output folder instead"))
            }
        }
        do {
            if let rebuilt = try CatalogState.reconstruct(read: sink.read) { return rebuilt }
        } catch {
            report.warnings.append(
                Diagnostic(
                    severity: .warning, file: nil,
                    message: "the catalog in the output folder cannot be read (\(error)); it starts again from this "
                        + "build, so catalog followers must reset their cursor"))
        }
        return CatalogState()
    }

    /// The `commitId` of `catalog/index.json` in the output folder (nil when there is none or it
    /// is empty).
    static func catalogHead(_ sink: LocalFolderSink) -> String? {
        guard let data = sink.read(CatalogLayout.index),
            let index = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return index["commitId"] as? String
    }

    /// Reads every package, on all cores, in input order.
    private func readAll(
        _ paths: [String], progress: (@Sendable (Progress) -> Void)?
    ) async -> [Result<PackageArchive, PackageArchiveError>] {
        // One worker per job, each taking the next file until none is left. (A task per file,
        // added as the previous one finished, kept a core idle a third of the time: each file
        // is a fraction of a millisecond, and the loop adding tasks had to be scheduled on the
        // same cores between them.)
        let results = Slots<Result<PackageArchive, PackageArchiveError>>(count: paths.count)
        let queue = WorkQueue(count: paths.count)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, min(options.concurrency, paths.count)) {
                group.addTask {
                    while let i = queue.take() {
                        do throws(PackageArchiveError) {
                            results.set(i, .success(try PackageArchive.read(path: paths[i])))
                        } catch {
                            results.set(i, .failure(error))
                        }
                        queue.finished { done in progress?(.reading(done: done, total: paths.count)) }
                    }
                }
            }
        }
        return results.values
    }
}

/// A value a task hands over whole. A task keeps its result, so a dictionary taken from
/// `task.value` is shared with it and copied on its first change (100,000 read-cache entries:
/// a few tens of milliseconds of an add-one build); taken out of this box, it is not shared.
final class Handover<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T?

    init(_ value: T) { self.value = value }

    /// The value, once; nil after.
    func take() -> T? {
        lock.lock()
        defer { lock.unlock() }
        var out: T? = nil
        swap(&out, &value)
        return out
    }
}

/// Hands out the indices 0..<count once each, to workers on several threads, and counts those
/// finished.
final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let count: Int
    private var next = 0
    private var done = 0

    init(count: Int) { self.count = count }

    /// The next index, or nil when all are taken.
    func take() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    /// Counts one more index finished and tells `report` how many are, in order: the reports
    /// of several workers never go down.
    func finished(_ report: (Int) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        report(done)
    }
}

/// A renderer that lives outside this module (the package site).
public protocol FeedDocumentRenderer: Sendable {
    /// The documents of each id in `ids` (lowercase), by id. `model` holds at least those ids;
    /// `model.presentIds` is every id in the feed.
    func renderIds(_ model: FeedModel, layout: FeedLayout, ids: Set<String>) -> [String: [FeedDocument]]
    /// What this renderer's feed-wide documents need of one id, by key (kept in its `IdDigest`).
    func digestParts(_ r: PackageRegistration, layout: FeedLayout) -> [String: [UInt8]]
    /// The documents of the feed as a whole, from every id's digest, in id order.
    func renderFeedWide(_ digests: [IdDigest], layout: FeedLayout) -> [FeedDocument]
    /// `PackageDetailsUriTemplate/5.1.0`, relative to the base URL, if this renderer writes
    /// package pages.
    var packageDetailsTemplate: String? { get }
}

extension FeedDocumentRenderer {
    public func digestParts(_ r: PackageRegistration, layout: FeedLayout) -> [String: [UInt8]] { [:] }

    /// The feed-wide documents of a whole model.
    public func renderFeedWide(_ model: FeedModel, layout: FeedLayout) -> [FeedDocument] {
        renderFeedWide(
            model.registrations.map { IdDigest($0, parts: digestParts($0, layout: layout)) }, layout: layout)
    }
}

/// All renderers together: the whole feed as documents.
public struct FeedRenderer: Sendable {
    public let layout: FeedLayout
    public let extras: [any FeedDocumentRenderer]
    /// Advisories for `VulnerabilityInfo/6.7.0`; nil: the feed offers no vulnerability data.
    public let vulnerabilities: [VulnerabilityEntry]?

    public init(
        layout: FeedLayout, extras: [any FeedDocumentRenderer] = [], vulnerabilities: [VulnerabilityEntry]? = nil
    ) {
        self.layout = layout
        self.extras = extras
        self.vulnerabilities = vulnerabilities
    }

    /// The documents of these ids (flat container, both registration hives, and the extras'),
    /// by lowercase id. Rendered on all cores; each id's extras see a model of that id alone
    /// (with the feed's ids), so that none walks the whole batch.
    public func renderIds(_ registrations: [PackageRegistration], model: FeedModel) -> [String: [FeedDocument]] {
        let flat = FlatContainerRenderer()
        let semver1 = RegistrationRenderer(layout: layout, hive: .semVer1)
        let semver2 = RegistrationRenderer(layout: layout, hive: .semVer2)
        let rendered = Self.concurrentMap(registrations, pieces: 8) { r -> (String, [FeedDocument]) in
            var docs = flat.render(r) + semver1.render(r) + semver2.render(r)
            let alone = FeedModel(registrations: [r], diagnostics: [], presentIds: model.presentIds)
            for extra in extras { docs += extra.renderIds(alone, layout: layout, ids: [r.lowerId])[r.lowerId] ?? [] }
            return (r.lowerId, docs)
        }
        return Dictionary(rendered, uniquingKeysWith: +)
    }

    /// What every feed-wide renderer needs of one id.
    public func digest(_ r: PackageRegistration) -> IdDigest {
        var parts: [String: [UInt8]] = [:]
        for extra in extras { parts.merge(extra.digestParts(r, layout: layout)) { a, _ in a } }
        return IdDigest(r, parts: parts)
    }

    /// The documents of the feed as a whole, from every id's digest (in id order): search,
    /// autocomplete, the catalog (leaves of this build's items, which are all in `model`, pages
    /// from `keepCatalogPagesBefore` on, the index), vulnerability info, the extras' feed-wide
    /// documents, and the service index.
    public func renderFeedWide(
        _ digests: [IdDigest], shown: [String: PackageRegistration], model: FeedModel, catalog: CatalogState,
        added: Int, keepCatalogPagesBefore: Int = 0
    ) -> [FeedDocument] {
        let layout = layout
        var parts: [@Sendable () -> [FeedDocument]] = [
            { SearchRenderer(layout: layout).render(digests, shown: shown) },
            {
                CatalogRenderer(layout: layout).render(
                    state: catalog, added: added, model: model, keepPagesBefore: keepCatalogPagesBefore)
            },
        ]
        if let vulnerabilities {
            parts.append {
                let newest = digests.map(\.newest).max() ?? Date(timeIntervalSince1970: 0)
                return VulnerabilityInfoRenderer(layout: layout).render(
                    vulnerabilities, updated: CatalogTime.string(CatalogTime.ticks(newest)))
            }
        }
        for extra in extras { parts.append { extra.renderFeedWide(digests, layout: layout) } }
        // Independent of each other: rendered side by side, then put in a fixed order.
        var docs = Self.concurrently(parts).flatMap { $0 }
        let template = extras.lazy.compactMap(\.packageDetailsTemplate).first
        docs.append(
            ServiceIndexRenderer(
                layout: layout, packageDetailsTemplate: template, vulnerabilityInfo: vulnerabilities != nil
            ).render())
        return docs
    }

    /// `transform` applied to every item, in about `pieces` pieces of work on all cores; the
    /// results in the order of `items`.
    static func concurrentMap<T: Sendable, U: Sendable>(
        _ items: [T], pieces: Int, _ transform: @escaping @Sendable (T) -> U
    ) -> [U] {
        let chunk = max(1, items.count / pieces + 1)
        return concurrently(
            stride(from: 0, to: items.count, by: chunk).map { start in
                { @Sendable in items[start..<min(start + chunk, items.count)].map(transform) }
            }
        ).flatMap { $0 }
    }

    /// Runs independent pieces of work on all cores; their results in the order given.
    static func concurrently<T: Sendable>(_ work: [@Sendable () -> T]) -> [T] {
        let results = Slots<T>(count: work.count)
        DispatchQueue.concurrentPerform(iterations: work.count) { results.set($0, work[$0]()) }
        return results.values
    }

    /// Every document of the feed (for tests and golden files).
    public func render(_ model: FeedModel, catalog: CatalogState, added: Int) -> [FeedDocument] {
        renderIds(model.registrations, model: model).sorted { $0.key < $1.key }.flatMap(\.value)
            + renderFeedWide(
                model.registrations.map(digest),
                shown: Dictionary(uniqueKeysWithValues: model.registrations.map { ($0.lowerId, $0) }), model: model,
                catalog: catalog, added: added)
    }
}

extension FeedBuilder {
    /// `--gzip`: a registration document (either hive) stored gzip-compressed under its own name.
    static func gzippedIfRegistration(_ doc: FeedDocument) -> FeedDocument {
        guard doc.path.hasPrefix(FeedLayout.registrationSemVer1) || doc.path.hasPrefix(FeedLayout.registrationSemVer2)
        else { return doc }
        var out = doc
        switch doc.content {
        case .bytes(let data): out.content = .bytes(Gzip.compress(data))
        case .deferred(let make): out.content = .deferred { Gzip.compress(try make()) }
        case .alias(let of, let make): out.content = .alias(of: of) { Gzip.compress(try make()) }
        case .file, .packageEntry: break
        }
        return out
    }
}

extension Result where Success == PackageArchive, Failure == PackageArchiveError {
    fileprivate var isChangedWhileReading: Bool {
        if case .failure(.changedWhileReading) = self { return true }
        return false
    }
}

/// What a one-shot process keeps until it exits (see `Options.leaveRecordsToExit`).
enum LeftToExit {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var kept: [Any] = []

    static func keep(_ things: [Any]) {
        lock.lock()
        kept.append(things)
        lock.unlock()
    }
}

/// Results filled in by concurrent work, each slot once.
final class Slots<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ value: T) {
        lock.lock()
        slots[i] = value
        lock.unlock()
    }

    var values: [T] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
