import Crypto
import Foundation
import NuGetCore
import ShelfFeed

/// `shelf publish`: makes a bucket prefix hold exactly the feed in a folder, uploading only what
/// changed, in an order that never lets a client follow a link to a missing object.
///
/// **Order.** (1) packages, catalog and registration leaves, and every other file nothing else
/// waits for; (2) registration pages; (3) per id, its flat container `index.json` and both
/// registration indexes, sent together so that they change at (nearly) the same moment;
/// (4) catalog pages, then (5) the catalog index; (6) search documents, site pages and other
/// indexes; (7) the service index `index.json`; (8) the records `shelf push` reads
/// (`StateRecord.travelsWithFeed`: how the feed is built, its per-id record and package records,
/// its catalog history), so that a published feed accepts pushes; then deletions, indexes of
/// removed ids first. While it runs it also holds the destination's push lock
/// (`S3StateStore`), so that no push changes the bucket under it.
/// Each step finishes before the next starts. A publish that stops anywhere leaves the old feed
/// with some new objects that nothing links to yet, or the new feed with some old objects it no
/// longer links to; running it again converges.
///
/// **Two publishers.** A small manifest object (`PREFIX.shelf/publish.json`) records what Shelf
/// put there (so that deletions never touch objects Shelf did not write) and holds a lease. It
/// is only ever written with a conditional request: `If-None-Match: *` to create it, `If-Match:
/// <its ETag>` to change it. A second publisher finds the lease taken (and says who holds it
/// until when), or loses the race to write it (412 Precondition Failed) and stops before it
/// changes anything. The lease is renewed while a publish runs and lapses five minutes after a
/// publisher dies; a publish killed and rerun from the same folder takes its own lease back at once.
public struct Publisher: Sendable {
    public struct Options: Sendable {
        public var dryRun = false
        public var concurrency = 8
        public var breakLock = false
        public var lease: TimeInterval = 300
        public init() {}
    }

    public let root: String
    public let destination: S3Destination
    public let client: S3Client
    public let options: Options
    /// Progress lines (a terminal's status line); nil when quiet.
    public let progress: (@Sendable (String) -> Void)?

    public init(
        root: String, destination: S3Destination, client: S3Client, options: Options,
        progress: (@Sendable (String) -> Void)? = nil
    ) {
        self.root = root
        self.destination = destination
        self.client = client
        self.options = options
        self.progress = progress
    }

    /// The manifest's name under the prefix.
    public static let manifestName = StateRecord.publishManifest.path
    var manifestKey: String { destination.prefix + Self.manifestName }
    /// The folder's state: its lock (shared with `shelf build`), the publish cache and owner.
    var folderState: LocalStateStore { LocalStateStore(root: root) }

    // MARK: Local files

    /// One file of the feed as it will be stored.
    struct LocalObject: Sendable {
        var path: String
        var size: Int64
        var md5: String
        var bodySize: Int64
        var contentType: String
        var cacheControl: String
        var gzip: Bool
        var meta: String { "\(contentType)|\(cacheControl)|\(gzip ? "gzip" : "")" }
    }

    /// Every file a host serves (not `.shelf/`, dot files or host configuration), with what its
    /// stored body will be: JSON and web pages gzip-compressed (as they are, when `--gzip` stored
    /// them so), everything else as it is. The MD5s are remembered (`StateRecord.publishCache`)
    /// by size and modification time, so that an unchanged feed is not read again.
    func localObjects() async throws -> [LocalObject] {
        var previous = await folderState.loadPublishCache().entries
        var out: [LocalObject] = []
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw PublishError.folderUnreadable(root)
        }
        var paths: [String] = []
        while let path = walker.nextObject() as? String {
            if StateRecord.isPrivate(path) {
                if StateRecord.travelsWithFeed(path) { paths.append(path) }
                continue
            }
            paths.append(path)
        }
        for path in paths.sorted() where ServedFile.isServed(path) || StateRecord.travelsWithFeed(path) {
            var st = stat()
            guard lstat(root + "/" + path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            let mtime = POSIX.modificationTime(st)
            let stamp = "\(st.st_size)|\(mtime / 1_000_000_000).\(mtime % 1_000_000_000)|\(st.st_ino)"
            // Records for `shelf push` are stored as it stores them: plain, never cached.
            let isRecord = StateRecord.travelsWithFeed(path)
            let compressible = !isRecord && ServedFile.isCompressible(path)
            let contentType = isRecord ? "application/octet-stream" : ServedFile.contentType(path)
            let cacheControl = isRecord ? "no-store" : ServedFile.cacheControl(path)
            if let hit = previous[path], hit.stamp == stamp {
                out.append(
                    LocalObject(
                        path: path, size: Int64(st.st_size), md5: hit.md5, bodySize: hit.bodySize,
                        contentType: contentType, cacheControl: cacheControl, gzip: compressible))
                continue
            }
            let body = try self.body(path, compressible: compressible)
            let md5 = Hex.string(Insecure.MD5.hash(data: body))
            previous[path] = PublishCache.Entry(stamp: stamp, md5: md5, bodySize: Int64(body.count))
            out.append(
                LocalObject(
                    path: path, size: Int64(st.st_size), md5: md5, bodySize: Int64(body.count),
                    contentType: contentType, cacheControl: cacheControl, gzip: compressible))
        }
        let keep = Set(out.map(\.path))
        await folderState.savePublishCache(PublishCache(entries: previous.filter { keep.contains($0.key) }))
        return out
    }

    /// The bytes stored for a file.
    func body(_ path: String, compressible: Bool) throws -> Data {
        guard let data = FileManager.default.contents(atPath: root + "/" + path) else {
            throw PublishError.fileUnreadable(root + "/" + path)
        }
        if !compressible || data.starts(with: [0x1f, 0x8b]) { return data }
        return Gzip.compress(data)
    }

    // MARK: Plan

    /// What a publish will do.
    public struct Plan: Sendable {
        var puts: [LocalObject] = []
        var deletes: [String] = []
        var unchanged: [LocalObject] = []
        /// Objects under the prefix that Shelf did not write: left alone.
        var foreign: [String] = []
        var remote: [String: S3Client.Object] = [:]

        public var putCount: Int { puts.count }
        public var putBytes: Int64 { puts.reduce(0) { $0 + $1.bodySize } }
        public var deleteCount: Int { deletes.count }
        public var unchangedCount: Int { unchanged.count }
        public var foreignCount: Int { foreign.count }
        public var putPaths: [String] { puts.map(\.path) }
        public var deletePaths: [String] { deletes }
    }

    func plan(local: [LocalObject], remote: [S3Client.Object], manifest: Manifest?) -> Plan {
        var plan = Plan()
        let prefix = destination.prefix
        for object in remote where object.key.hasPrefix(prefix) {
            plan.remote[String(object.key.dropFirst(prefix.count))] = object
        }
        for object in local {
            if let there = plan.remote[object.path] {
                let recorded = manifest?.objects[object.path]
                let same: Bool
                if let recorded {
                    same = recorded.md5 == object.md5 && recorded.meta == object.meta && recorded.etag == there.etag
                } else {
                    same = there.etag == object.md5 && there.size == object.bodySize
                }
                if same {
                    plan.unchanged.append(object)
                    continue
                }
            }
            plan.puts.append(object)
        }
        let localPaths = Set(local.map(\.path))
        for path in plan.remote.keys.sorted() where !localPaths.contains(path) && path != Self.manifestName {
            if manifest?.objects[path] != nil {
                plan.deletes.append(path)
            } else {
                plan.foreign.append(path)
            }
        }
        return plan
    }

    // MARK: Order

    /// The step a path is put in (see the type's documentation).
    static func step(_ path: String) -> Int {
        // The records `shelf push` reads describe the feed as a whole: after all of it.
        if StateRecord.travelsWithFeed(path) { return 8 }
        if path == "index.json" { return 7 }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let top = parts.first ?? ""
        let isHive = top == "registration" || top.hasPrefix("registration-") || top == "registration-semver2"
        if top == "flatcontainer" && parts.count == 3 && parts[2] == "index.json" { return 3 }
        if isHive && parts.count == 3 && parts[2] == "index.json" { return 3 }
        if isHive && parts.count > 3 && parts[2] == "page" { return 2 }
        if isHive && parts.count == 3 { return 1 }  // leaves
        if top == "catalog" {
            if parts.count == 2 && parts[1] == "index.json" { return 5 }
            if parts.count == 2 { return 4 }
            return 1
        }
        if top == "flatcontainer" { return 1 }
        let type = ServedFile.contentType(path)
        if type == "application/json" || type == "text/html" { return 6 }
        return 1
    }

    /// The id whose step-3 group a path belongs to.
    static func idOf(_ path: String) -> String {
        let parts = path.split(separator: "/")
        return parts.count > 1 ? String(parts[1]) : path
    }

    // MARK: Run

    public struct Result: Sendable {
        public var plan: Plan
        public var uploaded: Int
        public var deleted: Int
    }

    /// Reads both sides and, unless it is a dry run, makes the bucket match the folder.
    public func run() async throws -> Result {
        guard FileManager.default.fileExists(atPath: root + "/index.json") else {
            throw PublishError.notAFeed(root: root)
        }
        let local = try await localObjects()
        let lock = Lease(publisher: self)
        var state = try await lock.read()
        let remote = try await client.list(prefix: destination.prefix)
        let plan = plan(local: local, remote: remote, manifest: state.manifest)
        if options.dryRun { return Result(plan: plan, uploaded: 0, deleted: 0) }

        // No `shelf build` may change the folder while it is published (the build takes the same lock).
        let buildLock: any StateLock
        do {
            buildLock = try folderState.lock()
        } catch StateError.locked {
            throw PublishError.buildRunning(root: root)
        } catch {
            throw PublishError.buildLockUnusable(root: root, reason: "\(error)")
        }
        defer { buildLock.release() }
        let localLock = try owner()
        defer { localLock.release() }
        // The manifest, while this publish runs, names every object it may leave behind.
        var objects = state.manifest?.objects ?? [:]
        for object in plan.puts where objects[object.path] == nil {
            objects[object.path] = Manifest.Entry(md5: object.md5, etag: "", meta: object.meta)
        }
        state = try await lock.acquire(state, owner: localLock.token, objects: objects)
        let pushLock: any StateLock
        do {
            pushLock = try await S3Feed(client: client, destination: destination, lease: options.lease).state.lock(
                owner: "publish-" + localLock.token)
        } catch {
            try? await lock.release(state, objects: objects)
            throw PublishError.pushRunning(destination: "\(destination)")
        }
        defer { pushLock.release() }
        do {
            var etags: [String: String] = [:]
            let steps = Dictionary(grouping: plan.puts, by: { Self.step($0.path) })
            var done = 0
            for step in steps.keys.sorted() {
                state = try await lock.renewIfDue(state)
                let objects = steps[step]!
                let groups: [[LocalObject]] =
                    step == 3
                    ? Dictionary(grouping: objects, by: { Self.idOf($0.path) }).sorted { $0.key < $1.key }.map(\.value)
                    : objects.map { [$0] }
                let results = try await Concurrently.map(
                    groups, limit: step == 3 ? max(1, options.concurrency / 3) : options.concurrency
                ) {
                    group in
                    try await withThrowingTaskGroup(of: (String, String).self) { tasks in
                        for object in group { tasks.addTask { (object.path, try await self.put(object)) } }
                        var out: [(String, String)] = []
                        for try await r in tasks { out.append(r) }
                        return out
                    }
                } onEach: {
                    done += 1
                    self.progress?("uploading: \(done) of \(plan.puts.count) changed files")
                }
                for (path, etag) in results.joined() { etags[path] = etag }
            }
            // Deletions: indexes of removed ids first, so no index names a deleted package.
            let deletions = Dictionary(grouping: plan.deletes, by: { Self.step($0) >= 3 ? 0 : 1 })
            var deleted = 0
            for phase in deletions.keys.sorted() {
                state = try await lock.renewIfDue(state)
                for start in stride(from: 0, to: deletions[phase]!.count, by: 256) {
                    state = try await lock.renewIfDue(state)
                    let chunk = Array(deletions[phase]![start..<min(start + 256, deletions[phase]!.count)])
                    _ = try await Concurrently.map(chunk.map { [$0] }, limit: options.concurrency) { group in
                        try await self.delete(group[0])
                        return [(String, String)]()
                    } onEach: {
                        deleted += 1
                        self.progress?("deleting: \(deleted) of \(plan.deletes.count) removed files")
                    }
                }
            }
            var final: [String: Manifest.Entry] = [:]
            for object in local {
                let etag = etags[object.path] ?? plan.remote[object.path]?.etag ?? ""
                final[object.path] = Manifest.Entry(md5: object.md5, etag: etag, meta: object.meta)
            }
            try await lock.release(state, objects: final)
            localLock.finished()
            await pushLock.handBack()
            return Result(plan: plan, uploaded: plan.puts.count, deleted: plan.deletes.count)
        } catch {
            // Hand the leases back (the manifest still names what may have been written), so that
            // another publisher or push need not wait for them to lapse.
            try? await lock.release(state, objects: objects)
            await pushLock.handBack()
            throw error
        }
    }

    /// This folder's publisher of this destination (its lease owner id), held until the
    /// publish ends: one at a time on this machine.
    func owner() throws(PublishError) -> PublishOwner {
        let name = String(
            SigV4Signer.sha256Hex(Data("\(client.endpoint.absoluteString)|\(destination)".utf8)).prefix(16))
        let owner: PublishOwner?
        do {
            owner = try folderState.takePublishOwner(name)
        } catch {
            throw .ownerFileUnusable(path: root, reason: "\(error)")
        }
        guard let owner else { throw .publishingHere(destination: "\(destination)") }
        return owner
    }

    func put(_ object: LocalObject) async throws -> String {
        let body = try self.body(object.path, compressible: object.gzip)
        var headers: [(String, String)] = [
            ("Content-Type", object.contentType), ("Cache-Control", object.cacheControl),
            ("Content-MD5", Data(Insecure.MD5.hash(data: body)).base64EncodedString()),
        ]
        if object.gzip { headers.append(("Content-Encoding", "gzip")) }
        let response = try await client.send("PUT", key: destination.prefix + object.path, headers: headers, body: body)
        guard response.status == 200 else {
            throw PublishError.uploadFailed(object: "\(destination)\(object.path)", message: response.errorMessage)
        }
        return S3Client.unquote(response.etag ?? "")
    }

    func delete(_ path: String) async throws {
        let response = try await client.send("DELETE", key: destination.prefix + path)
        guard response.status == 204 || response.status == 200 || response.status == 404 else {
            throw PublishError.deleteFailed(object: "\(destination)\(path)", message: response.errorMessage)
        }
    }
}
