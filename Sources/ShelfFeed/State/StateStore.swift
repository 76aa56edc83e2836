import Foundation
import NuGetCore

/// One of the records Shelf keeps about a feed, beside it and never served: what a build leaves
/// for the next one (so that it reads and renders only what changed), and what `shelf publish`
/// remembers of a destination.
///
/// Every record has a name (`path`, under the state folder `.shelf/`) relative to the feed's root:
/// a store keeps it there, beside the feed's files (`LocalStateStore`), or at that key under a
/// bucket prefix (where `shelf publish` already keeps its manifest). The formats are the record
/// types' own (`ReadCache`, `IdState`, `CatalogState`, `InputSignature`, `PublishCache`), read
/// and written through `StateStore`'s typed functions.
public enum StateRecord: Hashable, Sendable {
    /// One shard of the read cache: what was read from each package file (`ReadCache`).
    case readCache(shard: Int)
    /// One shard of the per-id record: each id's fingerprint, digest and files (`IdState`).
    case ids(shard: Int)
    /// The catalog history as last written whole (`CatalogState`).
    case catalog
    /// The catalog items appended since `catalog` was written whole.
    case catalogTail
    /// The digest of everything the last finished build read (`InputSignature`).
    case inputSignature
    /// What the last finished build reported, for a build that finds nothing changed.
    case lastReport
    /// The feed-wide files the last finished build wrote (per-id files are in `ids`).
    case feedFiles
    /// The MD5 of each file's stored body, by file identity (`shelf publish`).
    case publishCache
    /// The manifest `shelf publish` keeps at a destination: what it put there, and its lease.
    case publishManifest
    /// The lease owner of a publish from this folder to one destination.
    case publishOwner(String)
    /// A host's configuration that the host does not read from the served folder (nginx).
    case hostConfiguration(String)
    /// The packages an id is served from (`PackageRecord`): what `shelf push` puts the id
    /// together from, without the packages folder.
    case packages(String)
    /// How the feed is built (`BuildOptionsRecord`): base URL, renderers, options.
    case buildOptions
    /// A copy of a policy file (the policy, or an advisory file it imports, by its path relative
    /// to the policy's folder), for `shelf push`.
    case policy(String)
    /// The symbol packages a build checked: each one's identity, its version and what was found.
    case symbols
    /// `shelf serve --push`'s API keys (salted hashes; never served, never published).
    case apiKeys
    /// `shelf serve --push`'s audit log: a JSON line per push, delete and relist, accepted or not.
    case auditLog

    /// The folder (or key prefix) every record lives under, beside the feed's files. Hosts are
    /// told to keep it private (`HostConfigRenderer`), and `shelf serve` answers 404 for it.
    public static let folder = ".shelf"

    /// The record's name, relative to the feed's root (`.shelf/...`).
    public var path: String {
        switch self {
        case .readCache(let n): return Self.folder + "/read-cache/" + Self.twoDigits(n) + ".bin"
        case .ids(let n): return Self.folder + "/ids/" + Self.twoDigits(n) + ".bin"
        case .catalog: return Self.folder + "/catalog.bin"
        case .catalogTail: return Self.folder + "/catalog-tail.bin"
        case .inputSignature: return Self.folder + "/input.sig"
        case .lastReport: return Self.folder + "/last-report.json"
        case .feedFiles: return Self.folder + "/feed-files.txt"
        case .publishCache: return Self.folder + "/publish-cache.tsv"
        case .publishManifest: return Self.folder + "/publish.json"
        case .publishOwner(let name): return Self.folder + "/publish/" + name + ".owner"
        case .hostConfiguration(let name): return Self.folder + "/host/" + name
        case .packages(let lowerId): return Self.folder + "/packages/" + lowerId + ".bin"
        case .buildOptions: return Self.folder + "/build.json"
        case .policy(let relative): return Self.folder + "/policy/" + relative
        case .symbols: return Self.folder + "/symbols.json"
        case .apiKeys: return Self.folder + "/keys.json"
        case .auditLog: return Self.folder + "/audit.log"
        }
    }

    /// Whether a path relative to the feed's root is a record `shelf push` needs where the feed
    /// is published (`shelf publish` uploads these with the feed): how it is built, its policy,
    /// the per-id record, each id's packages, the catalog history, the feed-wide file list and
    /// the last report. Not the read cache (it names the build machine's files), the lock, the
    /// journal or the publish records.
    public static func travelsWithFeed(_ path: String) -> Bool {
        guard path.hasPrefix(folder + "/") else { return false }
        let name = path.dropFirst(folder.count + 1)
        return ["build.json", "catalog.bin", "catalog-tail.bin", "feed-files.txt", "last-report.json"].contains(name)
            || ["policy/", "ids/", "packages/"].contains { name.hasPrefix($0) }
    }

    /// Whether a path relative to the feed's root is inside the state folder.
    public static func isPrivate(_ path: String) -> Bool {
        path == folder || path.hasPrefix(folder + "/")
    }

    private static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

/// Where Shelf keeps a feed's records (`StateRecord`), its build journal and its lock: the one
/// owner of that state. `LocalStateStore` keeps them in the output folder's `.shelf/`; a store
/// over an object store keeps the same records under a key prefix, its lock as a lease.
///
/// Every call may go over a network, so every call is `async`; a record once opened
/// (`StoredRecord`) is read without waiting, so a store that cannot read parts of a record
/// cheaply fetches it whole in `open`. The typed functions in `StateStore+Records.swift` read and
/// write each record in its format; callers never see a record's bytes or its place.
public protocol StateStore: Sendable {
    /// A record's bytes, or nil when there is none (or it cannot be read).
    func read(_ record: StateRecord) async -> Data?
    /// Whether there is such a record (without reading it).
    func exists(_ record: StateRecord) async -> Bool
    /// A record opened to be read a part at a time (the head of a split record now, its body
    /// records later, from the same version of it even if it is replaced meanwhile).
    func open(_ record: StateRecord) async -> StoredRecordOpening
    /// Stores a record whole: a reader sees the old bytes or the new ones, never a mix. A record
    /// whose bytes are already these is left as it is.
    func write(_ record: StateRecord, _ data: Data) async throws(StateError)
    /// Removes a record (nothing when there is none).
    func remove(_ record: StateRecord) async

    /// Takes the feed's lock, or fails at once when another build (or publish) holds it.
    func lock() async throws(StateError) -> any StateLock

    /// Records paths of the feed about to be written or removed, before they are, so that if
    /// this build is killed the next one knows they are Shelf's (`journaledPaths`).
    func journal(_ paths: [String]) async throws(StateError)
    /// Paths an unfinished earlier build journaled; empty when the last build finished.
    func journaledPaths() async -> [String]
    /// Whether an earlier build left its journal (it did not finish).
    func hasUnfinishedBuild() async -> Bool
    /// Called when a build has finished and its records are written: the journal goes.
    func finishJournal() async

    /// A summary of how the records a build leaves (and the feed's own indexes) are stored now
    /// (their identities): if any of them was touched since, it differs, and the output is not
    /// trusted to be the last build's.
    func recordIdentity() async -> String
}

/// A record opened for reading in parts.
public enum StoredRecordOpening: Sendable {
    case missing
    case unreadable
    case opened(any StoredRecord)
}

/// Random access to one version of a stored record.
public protocol StoredRecord: Sendable {
    /// The record's size in bytes.
    var size: Int { get }
    /// The bytes of `range`; nil when they cannot be read.
    func read(_ range: Range<Int>) -> [UInt8]?
}

/// A held lock on a feed's state, released by `release()` (or when the process ends). Releasing
/// never waits: a store whose lock is a lease on a server hands it back without waiting for the
/// answer (a lease not handed back lapses).
public protocol StateLock: Sendable {
    /// Hands the lock back without waiting (a lease in a bucket that cannot be deleted at once
    /// lapses instead).
    func release()
    /// Hands the lock back and waits until it is done (a lease in a bucket is deleted).
    func handBack() async
}

extension StateLock {
    public func handBack() async { release() }
}

/// What can go wrong with the state itself. The feed is never left half written by these: the
/// previous feed is still served.
public enum StateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A folder (the output folder, or the state folder in it) cannot be made.
    case cannotCreate(path: String, reason: String)
    /// Another build or publish holds the lock of this feed.
    case locked(feed: String, lock: String)
    /// A record or the journal cannot be written.
    case cannotWrite(path: String, reason: String)
    /// The claim on a destination lapsed while the work went on (it could not be renewed in
    /// time, or another took it over): nothing more is written.
    case leaseLost(feed: String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let why):
            return "cannot create \(path) (\(why)); check that the output folder is writable"
        case .locked(let feed, let lock):
            return "another shelf build is writing to \(feed); wait for it to finish, or remove \(lock) there if no "
                + "build is running"
        case .cannotWrite(let path, let why):
            return "cannot write \(path) (\(why)); check free disk space and permissions. The previous feed is still "
                + "served"
        case .leaseLost(let feed):
            return "this command's claim on \(feed) lapsed while it worked (a slow network, a paused machine, or a "
                + "clock far off), so it stopped writing; run it again: it completes what this one started"
        }
    }
}
