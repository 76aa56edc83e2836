import Crypto
import Foundation
import NuGetCore
import ShelfFeed

/// A feed in a bucket, as `shelf push` writes it: its records (`S3StateStore`) and its files
/// (`S3Sink`) under the destination's prefix, stored as `shelf publish` stores them.
public struct S3Feed: Sendable {
    public let client: S3Client
    public let destination: S3Destination
    /// How long a push's claim on the destination lasts if the push dies without handing it back.
    public let lease: TimeInterval
    public let concurrency: Int
    /// The lease this feed's store holds, which every write checks first.
    let held = HeldLease()

    public init(client: S3Client, destination: S3Destination, lease: TimeInterval = 300, concurrency: Int = 8) {
        self.client = client
        self.destination = destination
        self.lease = lease
        self.concurrency = concurrency
    }

    /// Throws when the lease this feed's store took has lapsed: nothing may be written then.
    func checkLease() throws(StateError) {
        if let lease = held.lease, !lease.isHeld { throw .leaseLost(feed: "\(destination)") }
    }

    public var state: S3StateStore { S3StateStore(feed: self) }
    public var sink: S3Sink { S3Sink(feed: self) }

    func key(_ path: String) -> String { destination.prefix + path }
}

/// A feed's records as objects under `PREFIX.shelf/` (the keys `StateRecord` names). The lock is
/// a lease object (`PREFIX.shelf/lock`) written only with conditional requests: created with
/// `If-None-Match: *`, taken over (once it lapsed) or renewed with `If-Match`. The journal is one
/// object, written whole under the lock.
public struct S3StateStore: StateStore {
    let feed: S3Feed
    private let journalLines = JournalLines()

    init(feed: S3Feed) { self.feed = feed }

    static let lockPath = StateRecord.folder + "/lock"
    static let journalPath = StateRecord.folder + "/journal.txt"

    public func read(_ record: StateRecord) async -> Data? { await get(record.path) }

    func get(_ path: String) async -> Data? {
        guard let r = try? await feed.client.send("GET", key: feed.key(path)), r.status == 200 else { return nil }
        return r.body
    }

    public func exists(_ record: StateRecord) async -> Bool {
        (try? await feed.client.send("HEAD", key: feed.key(record.path)))?.status == 200
    }

    public func open(_ record: StateRecord) async -> StoredRecordOpening { await open(path: record.path) }

    func open(path: String) async -> StoredRecordOpening {
        guard let r = try? await feed.client.send("GET", key: feed.key(path)) else { return .unreadable }
        switch r.status {
        case 200: return .opened(InMemoryRecord(r.body))
        case 404: return .missing
        default: return .unreadable
        }
    }

    public func write(_ record: StateRecord, _ data: Data) async throws(StateError) {
        try await put(record.path, data)
    }

    func put(_ path: String, _ data: Data) async throws(StateError) {
        try feed.checkLease()
        let headers = [("Content-Type", "application/octet-stream"), ("Cache-Control", "no-store")]
        let response: S3Client.Response
        do {
            response = try await feed.client.send("PUT", key: feed.key(path), headers: headers, body: data)
        } catch {
            throw .cannotWrite(path: "\(feed.destination)\(path)", reason: "\(error)")
        }
        guard response.status == 200 else {
            throw .cannotWrite(path: "\(feed.destination)\(path)", reason: response.errorMessage)
        }
    }

    public func remove(_ record: StateRecord) async {
        _ = try? await feed.client.send("DELETE", key: feed.key(record.path))
    }

    // MARK: Lock

    public func lock() async throws(StateError) -> any StateLock { try await lock(owner: UUID().uuidString) }

    /// Takes the lease for `owner`: a lease of the same owner (a publish killed and run again
    /// from the same folder) is taken back at once.
    public func lock(owner: String) async throws(StateError) -> any StateLock {
        let key = feed.key(Self.lockPath)
        do {
            // The server's clock, which the lease's end is written in (others compare it with theirs).
            let probe = try await feed.client.send("HEAD", key: key)
            let skew = probe.date.map { $0.timeIntervalSinceNow } ?? 0
            // Create it; or, when one is there and has lapsed (by the server's clock), take it over.
            var sentAt = ProcessInfo.processInfo.systemUptime
            var response = try await feed.client.send(
                "PUT", key: key, headers: [("If-None-Match", "*"), ("Cache-Control", "no-store")],
                body: LeaseBody(owner: owner, until: Date().addingTimeInterval(skew + feed.lease)).encoded)
            if response.status == 412 || response.status == 409 {
                let current = try await feed.client.send("GET", key: key)
                let now = current.date ?? Date().addingTimeInterval(skew)
                if current.status == 200, let held = LeaseBody.decode(current.body), held.until > now,
                    held.owner != owner
                {
                    throw StateError.locked(feed: "\(feed.destination)", lock: "\(feed.destination)\(Self.lockPath)")
                }
                var headers = [("Cache-Control", "no-store")]
                if current.status == 200, let etag = current.etag {
                    headers.append(("If-Match", etag))
                } else {
                    headers.append(("If-None-Match", "*"))
                }
                sentAt = ProcessInfo.processInfo.systemUptime
                response = try await feed.client.send(
                    "PUT", key: key, headers: headers,
                    body: LeaseBody(owner: owner, until: now.addingTimeInterval(feed.lease)).encoded)
            }
            guard response.status == 200, let etag = response.etag else {
                if response.status == 412 || response.status == 409 {
                    throw StateError.locked(feed: "\(feed.destination)", lock: "\(feed.destination)\(Self.lockPath)")
                }
                throw StateError.cannotWrite(path: "\(feed.destination)\(Self.lockPath)", reason: response.errorMessage)
            }
            // A store that ignores conditional requests would let two pushes both "create" the
            // lease: the one whose body is not there lost.
            let check = try await feed.client.send("GET", key: key)
            guard check.status == 200, LeaseBody.decode(check.body)?.owner == owner,
                S3Client.unquote(check.etag ?? "") == S3Client.unquote(etag)
            else {
                throw StateError.locked(feed: "\(feed.destination)", lock: "\(feed.destination)\(Self.lockPath)")
            }
            let lease = S3Lease(feed: feed, key: key, owner: owner, etag: etag, sentAt: sentAt, skew: skew)
            feed.held.lease = lease
            return lease
        } catch let error as StateError {
            throw error
        } catch {
            throw .cannotWrite(path: "\(feed.destination)\(Self.lockPath)", reason: "\(error)")
        }
    }

    // MARK: Journal

    public func journal(_ paths: [String]) async throws(StateError) {
        guard !paths.isEmpty else { return }
        var lines = journalLines.lines
        if lines == nil {
            // What a killed push left must not be lost: a journal that cannot be read now is
            // not written over.
            switch await open(path: Self.journalPath) {
            case .opened(let record): lines = Self.lines(record.read(0..<record.size) ?? [])
            case .missing: lines = []
            case .unreadable:
                throw .cannotWrite(
                    path: "\(feed.destination)\(Self.journalPath)", reason: "the journal there cannot be read now")
            }
        }
        let all = (lines ?? []) + paths
        journalLines.lines = all
        try await put(Self.journalPath, Data(all.joined(separator: "\n").utf8))
    }

    /// The journal's paths; none when it cannot be read now (and then `journal` refuses to
    /// write over it).
    public func journaledPaths() async -> [String] {
        switch await open(path: Self.journalPath) {
        case .opened(let record):
            let lines = Self.lines(record.read(0..<record.size) ?? [])
            journalLines.lines = lines
            return lines
        case .missing:
            journalLines.lines = []
            return []
        case .unreadable:
            journalLines.lines = nil
            return []
        }
    }

    static func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init).filter(FeedLayout.isSafe)
    }

    public func hasUnfinishedBuild() async -> Bool {
        (try? await feed.client.send("HEAD", key: feed.key(Self.journalPath)))?.status == 200
    }

    public func finishJournal() async {
        journalLines.lines = []
        _ = try? await feed.client.send("DELETE", key: feed.key(Self.journalPath))
    }

    /// Not used: a bucket is never checked for a build that changed nothing.
    public func recordIdentity() async -> String { "" }
}

/// The journal's lines as this push wrote them (a push appends to it several times).
final class JournalLines: @unchecked Sendable {
    private let mutex = NSLock()
    private var value: [String]?
    var lines: [String]? {
        get { mutex.withLock { value } }
        set { mutex.withLock { value = newValue } }
    }
}

/// The lease object's body: who holds the destination, until when (server time).
struct LeaseBody: Codable {
    var owner: String
    var until: Date

    var encoded: Data {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return (try? e.encode(self)) ?? Data()
    }

    static func decode(_ data: Data) -> LeaseBody? {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return try? d.decode(LeaseBody.self, from: data)
    }
}

/// A held lease, renewed while it is held and deleted when it is handed back.
///
/// It is held until `deadline` (this machine's uptime, so that a clock change does not move
/// it): the moment the last successful write of the lease was sent, plus the lease's length,
/// less a margin. A renewal refused (412: someone else wrote the lease) loses it at once; one
/// that fails otherwise is tried again at the next turn, and the deadline decides.
final class S3Lease: StateLock, @unchecked Sendable {
    let feed: S3Feed
    let key: String
    let owner: String
    /// How far the server's clock is ahead of this machine's.
    let skew: TimeInterval
    private let mutex = NSLock()
    private var etag: String
    private var deadline: TimeInterval
    private var lost = false
    private var renewal: Task<Void, Never>?

    init(feed: S3Feed, key: String, owner: String, etag: String, sentAt: TimeInterval, skew: TimeInterval) {
        self.feed = feed
        self.key = key
        self.owner = owner
        self.etag = etag
        self.skew = skew
        self.deadline = sentAt + Self.usable(feed.lease)
        let interval = UInt64(min(max(0.5, feed.lease / 3), 3600) * 1_000_000_000)
        renewal = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: interval)
                guard !Task.isCancelled, let self else { return }
                await self.renew()
            }
        }
    }

    /// How much of a lease of `length` seconds this side may use: a margin for the request that
    /// wrote it, and for the next one.
    static func usable(_ length: TimeInterval) -> TimeInterval { length - min(length * 0.2, 30) }

    /// Whether the lease is still this push's.
    var isHeld: Bool {
        mutex.withLock { !lost && ProcessInfo.processInfo.systemUptime < deadline }
    }

    private func renew() async {
        let current: String? = mutex.withLock { lost ? nil : etag }
        guard let current else { return }
        let sentAt = ProcessInfo.processInfo.systemUptime
        guard
            let r = try? await feed.client.send(
                "PUT", key: key, headers: [("If-Match", current), ("Cache-Control", "no-store")],
                body: LeaseBody(owner: owner, until: Date().addingTimeInterval(skew + feed.lease)).encoded)
        else { return }
        mutex.withLock {
            if r.status == 200, let next = r.etag {
                etag = next
                deadline = max(deadline, sentAt + Self.usable(feed.lease))
            } else if r.status == 412 || r.status == 409 {
                lost = true
            }
        }
    }

    /// Deletes the lease if it is still this one (another push may have taken it over after it
    /// lapsed).
    func handBack() async {
        renewal?.cancel()
        await renewal?.value
        let mine = mutex.withLock { etag }
        if let current = try? await feed.client.send("HEAD", key: key), current.status == 200,
            S3Client.unquote(current.etag ?? "") == S3Client.unquote(mine)
        {
            _ = try? await feed.client.send("DELETE", key: key)
        }
        mutex.withLock { lost = true }
    }

    /// Stops renewing without waiting: a lease not handed back lapses after its length.
    func release() {
        renewal?.cancel()
        mutex.withLock { lost = true }
    }
}

/// The lease an `S3Feed`'s store took, for its writes to check.
final class HeldLease: @unchecked Sendable {
    private let mutex = NSLock()
    private weak var value: S3Lease?
    var lease: S3Lease? {
        get { mutex.withLock { value } }
        set { mutex.withLock { value = newValue } }
    }
}

/// A feed's files as objects under the destination's prefix, each stored as `shelf publish`
/// stores it (`ServedFile`: its Content-Type and Cache-Control; JSON and pages gzip-compressed
/// with `Content-Encoding: gzip`), phase by phase so that no index names a missing object.
public struct S3Sink: FeedSink {
    let feed: S3Feed

    init(feed: S3Feed) { self.feed = feed }

    public func writeDocuments(_ documents: [FeedDocument], progress: (@Sendable (Int) -> Void)?) async throws
        -> WriteSummary
    {
        var summary = WriteSummary()
        let phases = Dictionary(grouping: documents, by: \.phase)
        var done = 0
        for phase in phases.keys.sorted() {
            let results: [(Bool, Int64)]
            if phase == .indexes {
                // What a client sees of an id is its indexes (the flat container's version list,
                // each registration hive's index): they are all made and compared first, then
                // stored an id at a time, so a kill leaves an id half old, half new only between
                // the few PUTs of that id.
                let uploads = try await Concurrently.map(phases[phase]!, limit: feed.concurrency) { doc in
                    try await self.prepare(doc)
                }
                let needed = uploads.compactMap { $0 }.sorted {
                    ($0.id == nil ? 1 : 0, $0.id ?? "", $0.path) < ($1.id == nil ? 1 : 0, $1.id ?? "", $1.path)
                }
                let stored = try await Concurrently.map(needed, limit: feed.concurrency) { try await self.put($0) }
                results = stored + Array(repeating: (false, 0), count: uploads.count - needed.count)
            } else {
                results = try await Concurrently.map(phases[phase]!, limit: feed.concurrency) { doc in
                    try await self.write(doc)
                }
            }
            for (written, bytes) in results {
                if written {
                    summary.written += 1
                    summary.bytesWritten += bytes
                } else {
                    summary.unchanged += 1
                }
            }
            done += results.count
            progress?(done)
        }
        return summary
    }

    /// Stores one document where its stored bytes change (a HEAD compares the MD5); a copy or
    /// an entry of a package this machine does not have (a version already in the feed) is left
    /// as it is when the object is there.
    func write(_ doc: FeedDocument) async throws -> (Bool, Int64) {
        guard let upload = try await prepare(doc) else { return (false, 0) }
        return try await put(upload)
    }

    /// An object to store: its key's path, its body and headers.
    struct Upload: Sendable {
        let path: String
        let id: String?
        let body: Data
        let headers: [(String, String)]
    }

    /// The object a document becomes, or nil when the stored one is the same (or, for a file of
    /// a package this machine does not have, when it is there).
    func prepare(_ doc: FeedDocument) async throws -> Upload? {
        let data: Data
        switch doc.content {
        case .file(let source, _, let sha512, _):
            // Only a package pushed now is on this machine (named by its absolute path); the
            // others are named by their place in the bucket and are there already.
            guard source.hasPrefix("/") else {
                try await keep(doc.path)
                return nil
            }
            guard let bytes = FileManager.default.contents(atPath: source) else {
                throw LocalFolderSink.SinkError.writeFailed(doc.path, "cannot read \(source)")
            }
            guard Data(SHA512.hash(data: bytes)).base64EncodedString() == sha512 else {
                throw LocalFolderSink.SinkError.writeFailed(
                    source, "the file changed after it was read; push it again once it is completely written")
            }
            data = bytes
        case .packageEntry(let package, let entry, let limit):
            guard package.hasPrefix("/") else {
                try await keep(doc.path)
                return nil
            }
            data = try PackageArchive.extractEntry(entry, fromPackageAt: package, limit: limit)
        default:
            data = try doc.data() ?? Data()
        }
        let compressible = ServedFile.isCompressible(doc.path)
        let body = compressible && !data.starts(with: [0x1f, 0x8b]) ? Gzip.compress(data) : data
        let md5 = Hex.string(Insecure.MD5.hash(data: body))
        if let head = try? await feed.client.send("HEAD", key: feed.key(doc.path)), head.status == 200,
            S3Client.unquote(head.etag ?? "") == md5,
            head.header("Content-Type") == ServedFile.contentType(doc.path)
        {
            return nil
        }
        var headers: [(String, String)] = [
            ("Content-Type", ServedFile.contentType(doc.path)), ("Cache-Control", ServedFile.cacheControl(doc.path)),
            ("Content-MD5", Data(Insecure.MD5.hash(data: body)).base64EncodedString()),
        ]
        if compressible { headers.append(("Content-Encoding", "gzip")) }
        return Upload(path: doc.path, id: FeedLayout.idOfPath(doc.path), body: body, headers: headers)
    }

    func put(_ upload: Upload) async throws -> (Bool, Int64) {
        try feed.checkLease()
        let response = try await feed.client.send(
            "PUT", key: feed.key(upload.path), headers: upload.headers, body: upload.body)
        guard response.status == 200 else {
            throw PublishError.uploadFailed(
                object: "\(feed.destination)\(upload.path)", message: response.errorMessage)
        }
        return (true, Int64(upload.body.count))
    }

    /// A file made from a package this machine does not have: it must be there already.
    private func keep(_ path: String) async throws {
        let head = try await feed.client.send("HEAD", key: feed.key(path))
        guard head.status == 200 else {
            throw LocalFolderSink.SinkError.writeFailed(
                path, "it is missing from \(feed.destination) and its package is not on this machine")
        }
    }

    public func removeFiles(_ paths: Set<String>) async -> RemovalOutcome {
        var outcome = RemovalOutcome()
        let results =
            (try? await Concurrently.map(paths.sorted(), limit: feed.concurrency) { path -> (String, String?) in
                if (try? self.feed.checkLease()) == nil { return (path, "this command's claim on the feed lapsed") }
                guard let r = try? await self.feed.client.send("DELETE", key: self.feed.key(path)) else {
                    return (path, "no answer")
                }
                return (path, r.status == 204 || r.status == 200 || r.status == 404 ? nil : r.errorMessage)
            }) ?? []
        for (path, failure) in results {
            if let failure {
                outcome.failed.append(RemovalOutcome.Failure(path: path, reason: failure))
            } else {
                outcome.removed += 1
            }
        }
        return outcome
    }

    /// A file of the feed as its bytes (gzip-stored ones decompressed).
    public func read(_ path: String) async -> Data? {
        guard let r = try? await feed.client.send("GET", key: feed.key(path)), r.status == 200 else { return nil }
        if r.header("Content-Encoding")?.lowercased() == "gzip" || r.body.starts(with: [0x1f, 0x8b]) {
            return Gzip.decompress(r.body) ?? r.body
        }
        return r.body
    }

    public func exists(_ path: String) async -> Bool {
        (try? await feed.client.send("HEAD", key: feed.key(path)))?.status == 200
    }

    public func files(below folders: [String]) async -> [String] {
        var out: [String] = []
        for folder in folders {
            let objects = (try? await feed.client.list(prefix: feed.key(folder))) ?? []
            out += objects.map { String($0.key.dropFirst(feed.destination.prefix.count)) }
        }
        return out
    }

    /// Nothing to put back: objects are written whole, and what a killed push wrote is named by
    /// its journal (and removed by the next push when no record has it).
    public func recover(journaled: [String]) async {}
}
