import Foundation
import NuGetCore

/// Where the packages of an id come from, for the assembly.
protocol PackageSource: Sendable {
    /// The files of an id (lowercase), with what was read from each.
    func files(of lowerId: String) -> [(path: String, entry: ReadCache.Entry)]
    /// Whether the id has any file.
    func has(_ lowerId: String) -> Bool
    /// A version's symbols as the feed's records have them (a push's source); nil for a build,
    /// which checks the symbol packages beside the packages (`SymbolInputs`).
    func recordedSymbols(_ lowerId: String, _ lowerVersion: String) -> Symbols?
}

extension PackageSource {
    func recordedSymbols(_ lowerId: String, _ lowerVersion: String) -> Symbols? { nil }
}

extension PackageInputs: PackageSource {
    func has(_ lowerId: String) -> Bool { byId[lowerId] != nil }
}

/// Stage 3 of a build: the dirty ids put together from their packages (decoded from the read
/// cache, or read again when a record cannot be decoded) with the policy applied, each on its
/// own and on all cores (the policy never looks at another id); then which of them must be
/// rendered, and the per-id record of the next build.
struct IdAssembly: Sendable {
    /// Where each id's packages come from: the input folder (`PackageInputs`), or a feed's own
    /// records and the packages pushed to it (`PushInputs`).
    let inputs: any PackageSource
    let settings: BuildSettings
    /// When the build started (nanoseconds since 1970), for `FeedBuilder.isRacy`.
    let started: Int64
    /// The symbol packages beside the packages (nil: none are looked at, as in a push).
    var symbols: SymbolInputs? = nil

    /// Each id put together: the registration as served (nil when the policy left nothing of it
    /// or it has no readable package), and what was noticed on the way, for its record.
    func assemble(_ ids: [String]) -> [String: (PackageRegistration?, IdState.Entry)] {
        let made = Parallel.map(ids, pieces: 32) { id in
            var (lowerId, r, e) = Self.assemble(
                id, files: inputs.files(of: id), root: settings.scanner.root, policy: settings.policy,
                warnOnPrefixViolation: settings.options.warnOnPrefixViolation,
                relativePath: settings.scanner.relative, started: started)
            if var served = r {
                if let symbols { symbols.attach(&served) }
                for i in served.versions.indices where served.versions[i].symbols == nil {
                    served.versions[i].symbols = inputs.recordedSymbols(lowerId, served.versions[i].lowerVersion)
                }
                r = served
            }
            return (lowerId, r, e)
        }
        var out: [String: (PackageRegistration?, IdState.Entry)] = [:]
        for (id, r, e) in made { out[id] = (r, e) }
        return out
    }

    /// One id put together from its files.
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
                if entry.stamp.size >= 0, !FeedBuilder.isRacy(entry.stamp, started: started) {
                    a.readIdentity = entry.stamp
                }
                if a.nuspec.id.lowercased() == lowerId { archives.append(a) }
            } else if let a = try? PackageArchive.read(path: path), a.nuspec.id.lowercased() == lowerId {
                archives.append(a)
            }
        }
        var e = IdState.Entry()
        e.policyView = policy?.view(of: lowerId) ?? ""
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
}

/// The feed this build serves, as far as it had to be put together: the dirty ids' registrations
/// and documents to render, and every id's record for the next build.
struct AssembledFeed: Sendable {
    /// The ids put together (the plan's dirty ids and those that link an id that came or went).
    var dirty: Set<String>
    /// Every dirty id, put together.
    var assembled: [String: (PackageRegistration?, IdState.Entry)]
    /// The dirty ids that are served, in id order.
    var served: [PackageRegistration]
    /// Every id in the feed.
    var present: Set<String>
    /// The served ids whose documents must be rendered.
    var changed: [PackageRegistration]
    /// Ids whose files go: no longer in the input, or no longer served.
    var removedIds: [String]
    /// The record of this build (file lists are filled in as documents are written).
    var records: IdState
    /// The catalog history with this build's items appended, and how many it appended.
    var catalog: CatalogState
    var catalogAdded: Int
    /// The catalog leaves and commits of each served dirty id, which its registration links.
    var links: [String: CatalogLinks]

    /// `history`: the catalog history of the previous build. `digest`: what the feed-wide
    /// documents need of an id (`FeedRenderer.digest`).
    init(
        plan: BuildPlan, previous: IdState, history: CatalogState, keys: (global: String, policy: String),
        assembly: IdAssembly,
        digest: @escaping @Sendable (PackageRegistration) -> IdDigest
    ) {
        dirty = plan.dirty
        assembled = assembly.assemble(dirty.filter { assembly.inputs.has($0) }.sorted())
        present = []
        for (id, e) in previous.entries where e.digest != nil && !dirty.contains(id) { present.insert(id) }
        for (id, (r, _)) in assembled where r != nil { present.insert(id) }
        // An id that comes or goes changes the pages of the ids that depend on it (they link it).
        let assembledNow = assembled
        let cameOrWent = dirty.filter { (previous.entries[$0]?.digest != nil) != (assembledNow[$0]?.0 != nil) }
        let dependents = plan.dependents(ofComingOrGoing: cameOrWent, previous: previous)
        if !dependents.isEmpty {
            dirty.formUnion(dependents)
            assembled.merge(assembly.assemble(dependents.sorted())) { a, _ in a }
        }

        served = assembled.values.compactMap(\.0).sorted { ByteOrder.precedes($0.lowerId, $1.lowerId) }
        // The catalog's new items: the dirty ids' versions that are new or changed, and deletes
        // for those that went. An id's registration links its catalog leaves and commits, so they
        // are part of its fingerprint.
        (catalog, catalogAdded) = history.appending(
            FeedModel(registrations: served, diagnostics: [], presentIds: present),
            only: plan.trustRecords ? dirty : nil)
        links = catalog.links(for: Set(served.map(\.lowerId)))

        // Fingerprints and digests of the dirty ids that are served, on all cores.
        let presentIds = present
        let linksNow = links
        let made = Parallel.map(served, pieces: 16) { r in
            let d = digest(r)
            return (
                IdState.fingerprint(
                    r, linking: d.dependencies, presentIds: presentIds, catalog: linksNow[r.lowerId] ?? CatalogLinks()),
                d
            )
        }
        records = IdState(globalKey: keys.global)
        records.policyKey = keys.policy
        if plan.sameGlobal {
            // The other ids keep their records (the dictionary is copied whole, not rebuilt).
            records.entries = previous.entries
            for id in dirty where assembled[id] == nil { records.entries[id] = nil }
        }
        for (id, (_, e)) in assembled { records.entries[id] = e }
        changed = []
        for (r, (fingerprint, digest)) in zip(served, made) {
            var e = records.entries[r.lowerId]!
            e.fingerprint = fingerprint
            e.digest = digest
            if plan.mustRender(r.lowerId, fingerprint: fingerprint, previous: previous) {
                changed.append(r)
            } else {
                e.storedPaths = previous.entries[r.lowerId]!.storedPaths
            }
            records.entries[r.lowerId] = e
        }
        let dirtyNow = dirty
        let recordsNow = records
        removedIds = previous.entries.keys.filter { dirtyNow.contains($0) && recordsNow.entries[$0]?.digest == nil }
    }

    /// The dirty ids that are served, as a model (with every id of the feed).
    var model: FeedModel { FeedModel(registrations: served, diagnostics: [], presentIds: present) }

    /// What the report says of every id, from the records of those not put together again: the
    /// model's notes of every id first, then the policy's; in id order.
    func summary(policy: FeedPolicy?) -> FeedSummary {
        var out = FeedSummary()
        let ids = records.entries.keys.sorted(by: ByteOrder.precedes)
        // One look at each id's record (a copy of it, at 100,000 versions a few tens of
        // milliseconds per pass).
        var used = Set<String>()
        var modelWarnings: [Diagnostic] = []
        var policyWarnings: [Diagnostic] = []
        out.digests.reserveCapacity(ids.count)
        for id in ids {
            let e = records.entries[id]!
            modelWarnings += e.modelDiagnostics
            out.refused += e.refused
            policyWarnings += e.policyDiagnostics
            out.pruned += e.pruned
            used.formUnion(e.policyUsed)
            if let digest = e.digest { out.digests.append(digest) }
        }
        out.warnings = modelWarnings + policyWarnings
        if let policy { out.warnings += policy.unusedDiagnostics(used: used) }
        return out
    }
}

/// The feed as a whole, as the report and the feed-wide documents see it.
struct FeedSummary: Sendable {
    /// Every served id's digest, in id order.
    var digests: [IdDigest] = []
    /// Versions the policy refused.
    var refused: [Diagnostic] = []
    /// What putting ids together and the policy noticed.
    var warnings: [Diagnostic] = []
    /// Versions retention left out.
    var pruned = 0

    var versions: Int { digests.reduce(0) { $0 + $1.versionCount } }
}
