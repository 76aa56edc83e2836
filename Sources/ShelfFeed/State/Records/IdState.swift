import Crypto
import Foundation
import NuGetCore

/// Which documents each id produced last time, and from what input (`StateRecord.ids`), so that
/// a rebuild renders only the ids whose input changed and keeps the other ids' files as they are.
///
/// An id's fingerprint covers everything its documents are made from: every version's package
/// hash, listing, deprecation and advisories, the owners and verified mark, the casing of its id,
/// and which of the ids its pages link (dependencies, deprecation alternates) are in the feed.
/// Everything the whole feed shares (base URL, which renderers run, options, Shelf's own output
/// format) goes into a global key; when that changes, every id is put together again. The policy
/// is not in it: each id keeps its view of the policy (`FeedPolicy.view(of:)`), and when the
/// policy files change (`policyKey`), the ids whose view changed are put together again. Beside
/// the fingerprint, each id keeps its digest and what the policy said of it, so that a build that
/// does not redo the id still has them.
struct IdState: Sendable {
    static let magic = Array("SHELFID5".utf8)
    /// Split in shards by id, so that a build rewrites only the shards of the ids it changed.
    static let shardCount = 64
    static func shard(of lowerId: String) -> Int { ReadCache.shard(of: lowerId) }
    /// Bumped whenever a renderer's output changes, so that no id keeps documents of an older shape.
    static let outputFormat = "shelf-output-9"

    /// One id of the input: what the feed got from it last time.
    struct Entry: Sendable {
        /// "" for an id the feed does not serve (every version refused or left out).
        var fingerprint: String
        /// The files written for it, kept encoded until a build needs them (the id changed or
        /// left the feed): most builds never decode most lists. Empty when the list is damaged;
        /// a build that needs the list checks `readPaths()` first.
        var paths: [String] {
            get { readPaths() ?? [] }
            set { storedPaths = .list(newValue) }
        }

        /// The files written for it; nil when the stored list cannot be read or is damaged.
        func readPaths() -> [String]? {
            switch storedPaths {
            case .list(let list): return list
            case .damaged: return nil
            case .stored(let body, let range):
                guard let bytes = body.read(range) else { return nil }
                var r = CacheReader(bytes)
                guard let list = try? r.strings(), r.atEnd else { return nil }
                return list
            }
        }
        var storedPaths: StoredPaths = .list([])
        /// What the feed-wide documents need of the id; nil when the feed does not serve it.
        var digest: IdDigest?
        /// What putting the id together noticed (duplicates, casings), and what the policy said
        /// (notes and warnings, refusals), kept so that a build that does not redo the id still
        /// reports them.
        var modelDiagnostics: [Diagnostic] = []
        var policyDiagnostics: [Diagnostic] = []
        var refused: [Diagnostic] = []
        /// Versions retention left out.
        var pruned = 0
        /// The policy entries that matched the id.
        var policyUsed: [String] = []
        /// Its view of the policy it was put together with (`FeedPolicy.view(of:)`; "" for none).
        var policyView = ""

        init(fingerprint: String, paths: [String], digest: IdDigest? = nil) {
            self.fingerprint = fingerprint
            self.storedPaths = .list(paths)
            self.digest = digest
        }

        init() { fingerprint = "" }
    }

    enum StoredPaths: Sendable {
        case list([String])
        /// A list that cannot be read back (stored as nothing, it stays damaged).
        case damaged
        /// Where the list is in a shard's body, decoded when needed.
        case stored(SplitFile.Body, Range<Int>)
    }

    var globalKey: String
    /// The policy files the ids were put together with (their SHA-256s; "" for no policy).
    var policyKey = ""
    var entries: [String: Entry] = [:]

    /// `settings`: everything else every id's documents depend on (options).
    static func globalKey(baseURL: String, renderers: [String], settings: [String] = []) -> String {
        Hex.string(
            SHA256.hash(data: Data(([outputFormat, baseURL] + renderers + settings).joined(separator: "\n").utf8)))
    }

    /// `linking`: the ids its pages link when they are in the feed (`IdDigest.dependencies`);
    /// `catalog`: its catalog leaves and commits, which its registration links.
    static func fingerprint(
        _ r: PackageRegistration, linking: [String], presentIds: Set<String>, catalog: CatalogLinks
    ) -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256 * r.versions.count)
        func add(_ s: String) {
            buffer.append(contentsOf: s.utf8)
            buffer.append(0)
        }
        add(r.id)
        add(r.verified ? "verified" : "-")
        for o in r.owners { add(o) }
        add("|")
        for v in r.versions {
            add(v.lowerVersion)
            add(v.nuspec.id)
            add(v.archive.sha512)
            add(v.archive.path)
            add(v.listed ? "listed" : "unlisted")
            if let symbols = v.symbols {
                add(symbols.sha512)
                add(symbols.path)
                for f in symbols.files { add(f.key) }
            }
            if let d = v.deprecation {
                add(d.reasons.map(\.rawValue).joined(separator: ","))
                add(d.message ?? "")
                add(d.alternateId ?? "")
                add(d.alternateRange?.normalizedString ?? "*")
            }
            for a in v.vulnerabilities {
                add(a.advisoryURL)
                add(String(a.severity.rawValue))
            }
        }
        add("|")
        // Which of the ids its pages link are in the feed (dependencies, deprecation alternates).
        for d in linking where presentIds.contains(d) { add(d) }
        add("|")
        // Its catalog items (each leaf's address and each commit follow from them).
        for item in catalog.items {
            add(item.kind == .details ? "details" : "delete")
            add(item.lowerVersion)
            add(String(item.ticks))
        }
        return Hex.string(SHA256.hash(data: buffer))
    }

    /// The shard files for the shards in `only`: the head (every id's fingerprint, digest,
    /// diagnostics, and where its file list is), then the file lists.
    func encodedShards(only: Set<Int>) -> [Int: Data] {
        var byShard: [Int: [(String, Entry)]] = [:]
        for (id, e) in entries where only.contains(Self.shard(of: id)) {
            byShard[Self.shard(of: id), default: []].append((id, e))
        }
        let groups = byShard
        let shards = only.sorted()
        let encoded = Parallel.map(shards, pieces: max(1, min(shards.count, 16))) { n -> Data in
            var w = CacheWriter()
            var body: [UInt8] = []
            w.string(globalKey)
            w.string(policyKey)
            let list = (groups[n] ?? []).sorted { $0.0 < $1.0 }
            w.int(Int64(list.count))
            for (id, e) in list {
                w.string(id)
                w.string(e.fingerprint)
                let paths: [UInt8]
                switch e.storedPaths {
                case .list(let list):
                    var p = CacheWriter()
                    p.strings(list)
                    paths = SplitFile.sealed(p.bytes)
                case .stored(let stored, let range):
                    // Copied as stored: a damaged list stays one (never an empty list that
                    // looks whole), and a list that cannot be read at all is stored as nothing,
                    // which reads back as damaged.
                    paths = stored.readSealed(range) ?? []
                case .damaged:
                    paths = []
                }
                w.int(Int64(body.count))
                w.int(Int64(paths.count))
                body += paths
                w.bool(e.digest != nil)
                e.digest?.encode(into: &w)
                for list in [e.modelDiagnostics, e.policyDiagnostics, e.refused] {
                    w.int(Int64(list.count))
                    for d in list {
                        w.string(d.severity.rawValue)
                        w.optional(d.file)
                        w.string(d.message)
                    }
                }
                w.int(Int64(e.pruned))
                w.strings(e.policyUsed)
                w.string(e.policyView)
            }
            return SplitFile.encode(magic: Self.magic, head: w.bytes, body: body)
        }
        return Dictionary(uniqueKeysWithValues: zip(shards, encoded))
    }

    /// Reads every shard's head, in parallel. Nil when there is none; `damaged` when some shard
    /// is unreadable or was written with another global key (its ids are rendered again).
    static func load(from store: any StateStore) async -> (state: IdState?, damaged: Bool) {
        await withTaskGroup(of: (Int, IdState?, Bool).self) { group in
            for n in 0..<shardCount {
                group.addTask {
                    switch SplitFile.readHead(await store.open(.ids(shard: n)), magic: magic) {
                    case .missing: return (n, nil, false)
                    case .damaged: return (n, nil, true)
                    case .read(let head, let body):
                        guard let part = decode(head: head, body: body) else { return (n, nil, true) }
                        return (n, part, false)
                    }
                }
            }
            var parts: [(Int, IdState)] = []
            var damaged = false
            var present = 0
            for await (n, part, bad) in group {
                if let part { parts.append((n, part)) }
                damaged = damaged || bad
                if part != nil || bad { present += 1 }
            }
            // Every build writes all the shards: some missing means the record is not whole.
            if present > 0 && present < shardCount { damaged = true }
            // The first shard's key decides; shards with another are as good as damaged.
            var state: IdState?
            for (_, part) in parts.sorted(by: { $0.0 < $1.0 }) {
                if state == nil {
                    state = IdState(globalKey: part.globalKey)
                    state!.policyKey = part.policyKey
                    state!.entries.reserveCapacity(parts.reduce(0) { $0 + $1.1.entries.count })
                }
                // A build whose policy changed writes every shard: shards that disagree are not whole.
                guard part.globalKey == state!.globalKey, part.policyKey == state!.policyKey else {
                    damaged = true
                    continue
                }
                state!.entries.merge(part.entries) { a, _ in a }
            }
            return (state, damaged)
        }
    }

    static func decode(head: [UInt8], body: SplitFile.Body) -> IdState? {
        var r = CacheReader(head)
        do throws(CacheReader.Damaged) {
            var state = IdState(globalKey: try r.string())
            state.policyKey = try r.string()
            let count = try r.int()
            guard count >= 0, count < Int64(head.count) else { return nil }
            for _ in 0..<count {
                let id = try r.string()
                var e = Entry()
                e.fingerprint = try r.string()
                guard let range = CacheReader.range(offset: try r.int(), length: try r.int(), within: body.length)
                else { return nil }
                e.storedPaths = .stored(body, range)
                if try r.bool() { e.digest = try IdDigest.decode(from: &r) }
                var lists: [[Diagnostic]] = []
                for _ in 0..<3 {
                    let n = try r.int()
                    guard n >= 0, n < Int64(head.count) else { return nil }
                    var list: [Diagnostic] = []
                    for _ in 0..<n {
                        guard let severity = Diagnostic.Severity(rawValue: try r.string()) else { return nil }
                        list.append(Diagnostic(severity: severity, file: try r.optional(), message: try r.string()))
                    }
                    lists.append(list)
                }
                e.modelDiagnostics = lists[0]
                e.policyDiagnostics = lists[1]
                e.refused = lists[2]
                e.pruned = Int(try r.int())
                e.policyUsed = try r.strings()
                e.policyView = try r.string()
                state.entries[id] = e
            }
            return r.atEnd ? state : nil
        } catch {
            return nil
        }
    }
}
