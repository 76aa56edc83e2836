import Foundation
import NuGetCore

/// `shelf push` and `shelf delete`: packages added to (or versions removed from) a feed where it
/// is published, from any machine, with nothing but the packages. The feed's own records say
/// how it is built (`BuildOptionsRecord`), which packages each id is served from
/// (`PackageRecord`), what every other id contributes to the feed-wide documents (`IdState`'s
/// digests) and the catalog's history: a push reads those of the ids it changes, and never the
/// other ids' packages.
///
/// It is a build whose first stage is different (`PushInputs`: the changed ids' recorded
/// packages, with the pushed ones added and the deleted ones taken out); the plan, assembly,
/// rendering and commit are the build's own, so the feed holds what `shelf build` of the same
/// packages with the same options writes.
///
/// **One at a time.** The destination's lock is taken before its records are read and held until
/// they are written; a push that finds it taken waits (up to `Options.wait`), then reads the
/// records the push before it left.
///
/// **Killed anywhere.** The journal names what a push was writing; the next push (or build) puts
/// those ids together again from their package records, which a push writes after the documents
/// and before the per-id record: each id ends as it was, or as the killed push made it.
public struct FeedPusher: Sendable {
    public struct Options: Sendable {
        /// Package files to add (`.nupkg`).
        public var packages: [String] = []
        /// Versions to remove: id and version (any casing, any equivalent form of the version).
        public var deletes: [Delete] = []
        /// A policy file to apply from now on (with the advisory files it imports); nil: the
        /// feed's own.
        public var policyPath: String?
        /// A version already in the feed is left as it is and reported, instead of failing
        /// (`dotnet nuget push --skip-duplicate`).
        public var skipDuplicate = false
        /// How long to wait for another push or build to finish, in seconds.
        public var wait: TimeInterval = 300
        public var concurrency = ProcessInfo.processInfo.activeProcessorCount
        /// Called at each `FaultPoint`, as in `FeedBuilder.Options`. For tests only.
        @_spi(Testing) public var faults: (@Sendable (FaultPoint) throws -> Void)?

        public init() {}
    }

    public struct Delete: Sendable, Equatable {
        public var id: String
        public var version: String
        public init(id: String, version: String) {
            self.id = id
            self.version = version
        }
    }

    public enum PushError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The destination has no record of how it is built.
        case notAFeed(String)
        /// The destination's per-id record is missing or damaged.
        case recordsDamaged(String)
        /// Another push or build held the destination for longer than `wait`.
        case busy(destination: String, waited: Int)
        case policy(PolicyError)
        /// The feed's own policy names a file it does not have a copy of.
        case policyFileMissing(String)
        /// A package record is damaged and the id's packages cannot be read back from the feed.
        case packagesUnreadable(id: String)
        /// A record is there but cannot be read now (a network error).
        case unreadable(destination: String, record: String)
        /// The feed's records name a file outside the feed (or a file name that is not one).
        case unsafeRecord(destination: String, record: String, path: String)
        case state(StateError)

        public var description: String {
            switch self {
            case .notAFeed(let d):
                return "\(d) holds no Shelf feed (no \(StateRecord.buildOptions.path)); build it with `shelf build` "
                    + "(and `shelf publish` it) with Shelf 0.9 or later first"
            case .recordsDamaged(let d):
                return "the records of the feed at \(d) are damaged or incomplete; rebuild it from its packages "
                    + "(`shelf build` of the packages, then `shelf publish`) before pushing to it"
            case .busy(let d, let waited):
                return
                    "another push or build held \(d) for \(waited) s; nothing was changed. Try again, or raise --wait"
            case .policy(let e): return "\(e). Nothing was changed"
            case .policyFileMissing(let f):
                return "the feed's policy imports \(f), which the feed has no copy of; push the policy again with "
                    + "--policy. Nothing was changed"
            case .packagesUnreadable(let id):
                return "the packages of \(id) cannot be read back from the feed; nothing was changed"
            case .unreadable(let d, let record):
                return "cannot read \(record) of the feed at \(d) now; nothing was changed. Try again"
            case .unsafeRecord(let d, let record, let path):
                return "\(record) of the feed at \(d) names \(path), which is not a file of the feed; nothing was "
                    + "changed. Rebuild the feed from its packages (or push its policy again with --policy)"
            case .state(let e): return "\(e)"
            }
        }
    }

    /// What a push did.
    public struct Report: Sendable {
        /// `Id Version` of each package added.
        public var pushed: [String] = []
        /// Packages whose version is already in the feed (left as they are).
        public var duplicates: [Diagnostic] = []
        /// Packages that cannot be served, or that the policy refused: one `error:` line each.
        public var refused: [Diagnostic] = []
        /// `Id Version` of each version removed.
        public var deleted: [String] = []
        /// Versions asked to be removed that the feed does not have.
        public var notFound: [Diagnostic] = []
        public var warnings: [Diagnostic] = []
        public var idsRendered = 0
        public var ids = 0
        public var versions = 0
        public var filesWritten = 0
        public var bytesWritten: Int64 = 0
        public var filesRemoved = 0
        public var catalogItemsAdded = 0
        /// Seconds spent waiting for the destination's lock.
        public var waited: Double = 0

        /// 0: everything asked was done; 2: some package was refused (the rest is in); 3: a
        /// version was already there (or not there, for a delete), and nothing else went wrong.
        public var exitStatus: Int32 {
            if !refused.isEmpty { return 2 }
            if !duplicates.isEmpty || !notFound.isEmpty { return 3 }
            return 0
        }
    }

    public let options: Options
    public let state: any StateStore
    public let sink: any FeedSink
    /// The destination as a user names it, for messages.
    public let destination: String
    /// Where the destination's files are on this machine (a folder destination), so that its
    /// packages are read in place; nil for one that is not (a bucket).
    public let localRoot: String?
    /// The extra renderers a feed built with these options has (the site, a host's configuration).
    public let extras: @Sendable (BuildOptionsRecord) -> [any FeedDocumentRenderer]

    public init(
        options: Options, state: any StateStore, sink: any FeedSink, destination: String, localRoot: String?,
        extras: @escaping @Sendable (BuildOptionsRecord) -> [any FeedDocumentRenderer]
    ) {
        self.options = options
        self.state = state
        self.sink = sink
        self.destination = destination
        self.localRoot = localRoot
        self.extras = extras
    }

    /// A push to a folder that holds a feed (its records in `.shelf/`).
    public init(
        options: Options, folder: String, extras: @escaping @Sendable (BuildOptionsRecord) -> [any FeedDocumentRenderer]
    ) {
        let root = PackageScanner.standardize(folder)
        let state = LocalStateStore(root: root)
        self.init(
            options: options, state: state,
            sink: LocalFolderSink(root: root, concurrency: options.concurrency, scratch: state.scratch),
            destination: folder, localRoot: root, extras: extras)
    }

    public func run() async throws -> Report {
        var report = Report()
        let started = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        // The packages first, before anything at the destination is touched.
        let pushed = await read(options.packages, into: &report)
        // Nothing left to push (every package refused): the destination is not touched.
        if pushed.isEmpty && options.deletes.isEmpty && options.policyPath == nil { return report }
        // A folder that holds no feed gets no lock file either.
        _ = try await recordedOptions()

        let lock = try await takeLock(&report)
        do {
            try await run(pushed: pushed, report: &report, started: started)
        } catch {
            await lock.handBack()
            throw error
        }
        await lock.handBack()
        return report
    }

    /// The push, once the destination's lock is held.
    private func run(pushed: [Pushed], report: inout Report, started: Int64) async throws {
        let recorded = try await recordedOptions()
        let scratch = try ScratchFolder.make()
        defer { scratch.remove() }
        let policyPath = try await policyCopy(recorded, scratch: scratch.path)
        let extras = self.extras(recorded)
        let settings: BuildSettings
        do {
            settings = try BuildSettings(
                pushing: recorded, policyPath: policyPath, extras: extras, root: localRoot ?? "/",
                concurrency: options.concurrency)
        } catch {
            throw PushError.policy(error)
        }

        // The records: what the last push or build left, and what a killed one was writing.
        let (unfinished, leftovers) = (await state.hasUnfinishedBuild(), await state.journaledPaths())
        await sink.recover(journaled: leftovers)
        let (loadedIds, idsDamaged) = await state.loadIdState()
        guard let previous = loadedIds, !idsDamaged else { throw PushError.recordsDamaged(destination) }
        let (history, catalogNotes) = await state.loadCatalogHistory(readFeed: sink.read)
        report.warnings += catalogNotes.map(\.diagnostic)
        await state.forgetInputSignature()
        let killedIds = unfinished ? Set(leftovers.compactMap(FeedLayout.idOfPath)) : []

        // Stage 1: the changed ids' packages, with the pushed ones and without the deleted ones.
        var inputs = PushInputs()
        let policyKey = settings.policyKey()
        let policyTouched = settings.policyTouched(previous, policyKey: policyKey)
        var touched = Set(pushed.map { $0.archive.nuspec.id.lowercased() }).union(
            options.deletes.map { $0.id.lowercased() }
        ).union(killedIds).union(policyTouched)
        try await inputs.load(touched.sorted(), from: self, previous: previous)
        for p in pushed {
            let id = p.archive.nuspec.id.lowercased()
            let version = p.archive.nuspec.version.normalizedString.lowercased()
            if inputs.contains(id, version) {
                let name = "\(p.archive.nuspec.id) \(p.archive.nuspec.version.normalizedString)"
                if options.skipDuplicate {
                    report.warnings.append(
                        Diagnostic(
                            severity: .note, file: p.display,
                            message: "\(name) is already in the feed; left as it is (--skip-duplicate)"))
                } else {
                    report.duplicates.append(
                        Diagnostic(
                            severity: .error, file: p.display,
                            message: "\(name) is already in the feed; a version is pushed once (push a new "
                                + "version, or delete this one first)"))
                }
                continue
            }
            inputs.add(id, path: p.archive.path, entry: p.entry)
            report.pushed.append("\(p.archive.nuspec.id) \(p.archive.nuspec.version.fullString)")
        }
        for d in options.deletes {
            let id = d.id.lowercased()
            guard let version = NuGetVersion(d.version), inputs.remove(id, version.normalizedString.lowercased())
            else {
                report.notFound.append(
                    Diagnostic(
                        severity: .error, file: nil,
                        message: "\(d.id) \(d.version) is not in the feed at \(destination); nothing to delete"))
                touched.remove(id)
                continue
            }
            report.deleted.append("\(d.id) \(version.normalizedString)")
        }
        // Ids whose pages link an id that may come or go, and those search shows: the assembly
        // may need them too.
        let comingOrGoing = touched.filter { (previous.entries[$0]?.digest != nil) != inputs.has($0) }
        var linking: [String] = []
        for (id, e) in previous.entries where !touched.contains(id) {
            if let d = e.digest, d.dependencies.contains(where: comingOrGoing.contains) { linking.append(id) }
        }
        try await inputs.load(linking.sorted(), from: self, previous: previous)

        // 2. The plan: with trusted records, the touched ids (and those that came or went).
        let globalKey = settings.globalKey()
        var servedIds = Set(previous.entries.filter { $0.value.digest != nil }.keys)
        for id in touched {
            if inputs.has(id) { servedIds.insert(id) } else { servedIds.remove(id) }
        }
        let plan = BuildPlan(
            .init(
                globalKey: globalKey, previous: previous,
                catalogRestarted: history.items.isEmpty && !previous.entries.isEmpty,
                builtBefore: true, feedPresent: true, inputIds: servedIds, touchedIds: touched,
                policyTouched: policyTouched, interruptedIds: killedIds))
        guard plan.sameGlobal else { throw PushError.recordsDamaged(destination) }

        // 3. Assembly, with the build's own types.
        var assembly = IdAssembly(inputs: inputs, settings: settings, started: started)
        var feed = AssembledFeed(
            plan: plan, previous: previous, history: history, keys: (globalKey, policyKey), assembly: assembly,
            digest: { [extras, layout = settings.layout] in FeedRenderer.digest($0, extras: extras, layout: layout) })
        let summary = feed.summary(policy: settings.policy)
        report.refused += pushedRefusals(summary, pushed: pushed, settings: settings)
        report.warnings += summary.warnings
        report.idsRendered = feed.changed.count
        report.ids = summary.digests.count
        report.versions = summary.versions
        report.catalogItemsAdded = feed.catalogAdded
        // The ids search shows that are not put together yet: their packages, then them.
        let shownMissing = SearchRenderer.shownIds(summary.digests).filter { id in
            !feed.served.contains { $0.lowerId == id } && !inputs.has(id)
        }
        if !shownMissing.isEmpty {
            try await inputs.load(shownMissing, from: self, previous: previous)
            assembly = IdAssembly(inputs: inputs, settings: settings, started: started)
        }

        // 4 and 5. Render and commit, as a build does.
        let renderer = FeedRenderer(
            layout: settings.layout, extras: extras, vulnerabilities: settings.vulnerabilities(summary.digests),
            gzipRegistrations: recorded.gzipRegistrations, contents: await contents(of: feed.changed))
        let model = feed.model
        let shown = feed.shownInSearch(summary.digests, assembly: assembly)
        let (catalog, added) = (feed.catalog, feed.catalogAdded)
        var commit = await FeedCommit(
            sink: sink, state: state, leftovers: unfinished ? leftovers : [], sweep: false, faults: options.faults)
        var clock = PhaseClock()
        try await commit.run(
            &feed, previous: previous, renderer: renderer, clock: &clock, progress: nil,
            feedWide: {
                renderer.renderFeedWide(
                    summary.digests, shown: shown, model: model, catalog: catalog, added: added,
                    keepCatalogPagesBefore: plan.catalogPagesKept(catalog, added: added))
            },
            records: .init(
                pushWith: catalog, policyChanged: previous.policyKey != policyKey, options: settings.optionsRecord,
                policyFiles: settings.policyRecords()))
        report.warnings += commit.notes.map(\.diagnostic)
        report.filesWritten = commit.summary.written
        report.bytesWritten = commit.summary.bytesWritten
        report.filesRemoved = commit.summary.removed
        var last = FeedBuilder.Report()
        last.ids = report.ids
        last.versions = report.versions
        last.filesWritten = commit.summary.written + commit.summary.unchanged
        try await state.recordFinishedBuild(last.last, signature: nil)
    }

    /// What the renderers read from packages (a version's README): from the package file when
    /// this machine has it, else (a version already in a bucket) from the README the feed
    /// serves beside it, fetched now for the ids about to be rendered.
    func contents(of rendered: [PackageRegistration]) async -> any PackageContents {
        guard localRoot == nil else { return PackageFileContents() }
        var readmes: [String: Data] = [:]
        for r in rendered {
            // A version already in the bucket is named by its place there (a relative path).
            for v in r.versions where v.archive.readme != nil && !v.archive.path.hasPrefix("/") {
                if let data = await sink.read(FeedLayout.readme(r.lowerId, v.lowerVersion)) {
                    readmes[v.archive.path] = data
                }
            }
        }
        return FetchedContents(readmes: readmes)
    }

    // MARK: Stage 1

    /// A package pushed: read, with what its read cache entry would be.
    struct Pushed: Sendable {
        var archive: PackageArchive
        var entry: ReadCache.Entry
        /// The file as the user named it, for messages.
        var display: String
    }

    /// Reads the packages to push; one `error:` line for each that cannot be served.
    func read(_ paths: [String], into report: inout Report) async -> [Pushed] {
        let results = await PackageInputs.readAll(paths, concurrency: options.concurrency, progress: nil)
        var out: [Pushed] = []
        var seen = Set<String>()
        for (path, result) in zip(paths, results) {
            switch result {
            case .failure(let e):
                report.refused.append(Diagnostic(severity: .error, file: path, message: e.description))
            case .success(var a):
                // A symbol package is not a package: it would be served as one.
                if path.lowercased().hasSuffix(".snupkg") || a.nuspec.isSymbolsPackage {
                    report.refused.append(
                        Diagnostic(
                            severity: .error, file: path,
                            message: "is a symbol package; shelf push takes packages (put .snupkg files beside "
                                + "the packages and build the feed)"))
                    continue
                }
                let key = a.nuspec.id.lowercased() + "/" + a.nuspec.version.normalizedString.lowercased()
                guard seen.insert(key).inserted else {
                    // The same version named twice (the same file through two folders, or two
                    // copies): the first is pushed; with --skip-duplicate the rest are a note.
                    let message = "\(a.nuspec.id) \(a.nuspec.version.normalizedString) is named twice in this push"
                    if options.skipDuplicate {
                        report.warnings.append(
                            Diagnostic(severity: .note, file: path, message: message + "; pushed once"))
                    } else {
                        report.duplicates.append(
                            Diagnostic(severity: .error, file: path, message: message + "; the first is pushed"))
                    }
                    continue
                }
                let stamp = FileIdentity.of(path)
                if let stamp { a.readIdentity = stamp }
                a.path = PackageScanner.standardize(path)
                out.append(
                    Pushed(
                        archive: a, entry: ReadCache.Entry(stamp: stamp ?? PushInputs.noStamp, archive: a),
                        display: path))
            }
        }
        return out
    }

    /// The policy's refusals of pushed packages (a prefix reservation it breaks, a certificate it
    /// lacks): errors; the policy's other findings stay warnings.
    func pushedRefusals(_ summary: FeedSummary, pushed: [Pushed], settings: BuildSettings) -> [Diagnostic] {
        let files = Set(pushed.map { settings.scanner.relative($0.archive.path) })
        return summary.refused.filter { d in d.file.map(files.contains) ?? false }
    }

    /// Takes the destination's lock, waiting while another push or build holds it.
    func takeLock(_ report: inout Report) async throws -> any StateLock {
        let start = Date()
        var delay: UInt64 = 50_000_000
        while true {
            do {
                let lock = try await state.lock()
                report.waited = Date().timeIntervalSince(start)
                return lock
            } catch .locked {
                let waited = Date().timeIntervalSince(start)
                guard waited < options.wait else { throw PushError.busy(destination: destination, waited: Int(waited)) }
                // Jittered, growing to a second: eight pushes started together do not retry in step.
                try await Task.sleep(nanoseconds: delay + UInt64.random(in: 0...delay))
                delay = min(delay * 2, 1_000_000_000)
            } catch {
                throw PushError.state(error)
            }
        }
    }

    /// How the destination's feed is built: its `build.json`.
    func recordedOptions() async throws -> BuildOptionsRecord {
        switch await state.open(.buildOptions) {
        case .missing: throw PushError.notAFeed(destination)
        case .unreadable: throw PushError.unreadable(destination: destination, record: StateRecord.buildOptions.path)
        case .opened(let record):
            guard let data = record.read(0..<record.size).map({ Data($0) }),
                let decoded = BuildOptionsRecord.decode(data)
            else { throw PushError.recordsDamaged(destination) }
            return decoded
        }
    }

    /// The policy this push applies, as a local file: the one given, or a copy of the feed's own
    /// (with the advisory files it imports) in `scratch`; nil when there is none. The names come
    /// from the destination, which others may write: a name that would leave `scratch` is
    /// refused, and so is a policy importing a file from outside its folder (the build left it
    /// out of the records, and it must not be read from this machine instead).
    func policyCopy(_ recorded: BuildOptionsRecord, scratch: String) async throws -> String? {
        if let given = options.policyPath { return given }
        guard let name = recorded.policy else { return nil }
        let record = StateRecord.buildOptions.path
        guard !name.contains("/"), FeedLayout.isSafe(name) else {
            throw PushError.unsafeRecord(destination: destination, record: record, path: name)
        }
        guard let data = await state.read(.policy(name)) else { throw PushError.policyFileMissing(name) }
        let path = scratch + "/" + name
        try data.write(to: URL(fileURLWithPath: path))
        let advisories =
            ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["advisories"] as? [String] ?? []
        for relative in advisories {
            guard FeedLayout.isSafe(relative) else {
                throw PushError.unsafeRecord(destination: destination, record: name, path: relative)
            }
            guard let bytes = await state.read(.policy(relative)) else { throw PushError.policyFileMissing(relative) }
            let target = scratch + "/" + relative
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try bytes.write(to: URL(fileURLWithPath: target))
        }
        return path
    }

    /// An id's packages as the feed serves them: its package record, or, when that is missing or
    /// damaged, its packages read back from the flat container.
    func packages(of lowerId: String, previous: IdState) async throws -> [(PackageArchive, Symbols?)] {
        guard previous.entries[lowerId]?.digest != nil else { return [] }
        guard PackageId.isValid(lowerId), lowerId == lowerId.lowercased() else {
            throw PushError.unsafeRecord(destination: destination, record: "the id records", path: lowerId)
        }
        if let data = await state.read(.packages(lowerId)),
            let record = PackageRecord.decode(data, root: localRoot ?? ""),
            zip(record.archives, record.symbols).allSatisfy({ a, s in
                // Each names its own copy in the flat container, and nothing else; its symbols
                // their own copy, and keys that are symbol keys. A PDB's entry is a name inside
                // that copy (extracted by name, never a path written; `lib\net5.0\X.pdb` is
                // one), so only an empty or NUL-holding one is refused.
                let prefix = localRoot.map { $0 + "/" } ?? ""
                let version = a.nuspec.version.pathSegment
                return a.nuspec.id.lowercased() == lowerId && a.path == prefix + FeedLayout.nupkg(lowerId, version)
                    && (s.map { s in
                        s.path == prefix + FeedLayout.snupkg(lowerId, version)
                            && s.files.allSatisfy {
                                SymbolKey.isPortablePdbKey($0.key) && !$0.entry.isEmpty && !$0.entry.contains("\0")
                            }
                    } ?? true)
            })
        {
            return Array(zip(record.archives, record.symbols))
        }
        return try await readBack(lowerId).map { ($0, nil) }
    }

    /// An id's packages read from the feed's flat container (its `index.json` names the versions).
    func readBack(_ lowerId: String) async throws -> [PackageArchive] {
        guard let index = await sink.read(FeedLayout.flatIndex(lowerId)),
            let versions = ((try? JSONSerialization.jsonObject(with: index)) as? [String: Any])?["versions"]
                as? [String]
        else { throw PushError.packagesUnreadable(id: lowerId) }
        var out: [PackageArchive] = []
        for v in versions {
            // A version as the flat container names it: normalized, lowercase.
            guard NuGetVersion(v).map({ $0.normalizedString.lowercased() == v }) == true else {
                throw PushError.unsafeRecord(destination: destination, record: FeedLayout.flatIndex(lowerId), path: v)
            }
            let relative = FeedLayout.nupkg(lowerId, v)
            let path: String
            var scratch: ScratchFolder?
            if let localRoot {
                path = localRoot + "/" + relative
            } else {
                guard let bytes = await sink.read(relative) else { throw PushError.packagesUnreadable(id: lowerId) }
                let folder = try ScratchFolder.make()
                scratch = folder
                path = folder.path + "/package.nupkg"
                try bytes.write(to: URL(fileURLWithPath: path))
            }
            defer { scratch?.remove() }
            do throws(PackageArchiveError) {
                var a = try PackageArchive.read(path: path)
                a.path = localRoot.map { $0 + "/" + relative } ?? relative
                a.readIdentity = nil
                out.append(a)
            } catch {
                throw PushError.packagesUnreadable(id: lowerId)
            }
        }
        return out
    }
}

/// The packages of the ids a push changes (`PackageSource`): their records, the pushed packages
/// added, the deleted versions taken out.
struct PushInputs: PackageSource {
    static let noStamp = FileIdentity(size: -1, mtime: 0, ctime: 0, inode: 0, device: 0)
    private(set) var byId: [String: [(path: String, entry: ReadCache.Entry)]] = [:]
    private var loaded = Set<String>()
    /// The versions' symbols, as the records have them (`lowerId/lowerVersion`).
    private var symbols: [String: Symbols] = [:]

    func recordedSymbols(_ lowerId: String, _ lowerVersion: String) -> Symbols? {
        symbols[lowerId + "/" + lowerVersion]
    }

    func files(of lowerId: String) -> [(path: String, entry: ReadCache.Entry)] { byId[lowerId] ?? [] }
    func has(_ lowerId: String) -> Bool { !(byId[lowerId] ?? []).isEmpty }

    func contains(_ lowerId: String, _ lowerVersion: String) -> Bool {
        files(of: lowerId).contains {
            $0.entry.archive(root: "")?.nuspec.version.normalizedString.lowercased() == lowerVersion
        }
    }

    mutating func add(_ lowerId: String, path: String, entry: ReadCache.Entry) {
        byId[lowerId, default: []].append((path, entry))
    }

    /// Takes a version out; false when the id does not have it.
    mutating func remove(_ lowerId: String, _ lowerVersion: String) -> Bool {
        guard let list = byId[lowerId] else { return false }
        let kept = list.filter {
            $0.entry.archive(root: "")?.nuspec.version.normalizedString.lowercased() != lowerVersion
        }
        byId[lowerId] = kept
        return kept.count < list.count
    }

    /// Loads the packages of these ids (once each).
    mutating func load(_ ids: [String], from pusher: FeedPusher, previous: IdState) async throws {
        for id in ids where loaded.insert(id).inserted {
            for (a, s) in try await pusher.packages(of: id, previous: previous) {
                add(id, path: a.path, entry: ReadCache.Entry(stamp: Self.noStamp, archive: a))
                if let s { symbols[id + "/" + a.nuspec.version.pathSegment] = s }
            }
        }
    }
}

/// A private temporary folder, removed with what it holds.
struct ScratchFolder: Sendable {
    let path: String

    static func make() throws -> ScratchFolder {
        let path = NSTemporaryDirectory() + "/shelf-" + UUID().uuidString
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return ScratchFolder(path: path)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// READMEs of packages this machine does not have, fetched from the feed; the others' from
/// their files.
struct FetchedContents: PackageContents {
    let readmes: [String: Data]

    func readme(of version: PackageVersion) -> Data? {
        guard version.archive.path.hasPrefix("/") else { return readmes[version.archive.path] }
        return PackageFileContents().readme(of: version)
    }
}
