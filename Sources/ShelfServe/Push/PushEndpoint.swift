import Crypto
import Foundation
import NIOCore
import NuGetCore
import ShelfFeed

/// What a rebuild after a change said: nil `failure` when the feed was built (and published,
/// with `--publish`); `refused` holds the build's error for each package file it left out.
public struct RebuildOutcome: Sendable {
    public var failure: String?
    public var refused: [String: String]

    public init(failure: String? = nil, refused: [String: String] = [:]) {
        self.failure = failure
        self.refused = refused
    }
}

/// How the push endpoint works.
public struct PushSettings: Sendable {
    /// The packages folder pushed packages are stored in (what `shelf build` reads).
    public var packages: String
    /// The policy file builds use (nil: `shelf.json` in the packages folder, if any).
    public var policyPath: String?
    /// The largest package taken (nuget.org: 250 MB).
    public var maxPackageSize: Int64 = 250 * 1024 * 1024
    /// An upload that sends nothing for this long is cut off.
    public var uploadIdleTimeout: TimeInterval = 30
    /// Wrong keys from one address within `throttleWindow` seconds before it is answered 429.
    public var wrongKeysAllowed = 10
    public var throttleWindow: TimeInterval = 60

    public init(packages: String) { self.packages = packages }
}

/// The `PackagePublish/2.0.0` endpoint of `shelf serve --push`: `PUT` a package (multipart, as
/// `dotnet nuget push` sends it), `DELETE {id}/{version}` to unlist (as nuget.org does), `POST
/// {id}/{version}` to relist. Keys are checked (`KeyRing`), wrong ones throttled per address,
/// ownership and reserved prefixes applied as nuget.org does; a pushed package is stored in the
/// packages folder under its name in one step (a rename), the feed is rebuilt (pushes arriving
/// together in one build), and only then the client is answered. Everything is written to the
/// audit log.
public final class PushEndpoint: Sendable {
    /// The path the endpoint answers on (below the server's root).
    public static let path = "/api/v2/package"

    let settings: PushSettings
    let feedRoot: String
    let keys: KeyRing
    let throttle: KeyGuessThrottle
    let audit: AuditLog
    let ledger: Ledger
    let builds: BuildQueue<RebuildOutcome>
    let uploads = UploadSlots(limit: 32)

    public init(
        settings: PushSettings, feedRoot: String, keys: KeyRing,
        rebuild: @escaping @Sendable () async -> RebuildOutcome
    ) {
        self.settings = settings
        self.feedRoot = feedRoot
        self.keys = keys
        throttle = KeyGuessThrottle(limit: settings.wrongKeysAllowed, window: settings.throttleWindow)
        audit = AuditLog(feedRoot: feedRoot)
        ledger = Ledger(settings: settings, feedRoot: feedRoot)
        builds = BuildQueue(rebuild)
        Ledger.removeStaleUploads(settings.packages)
    }

    static func handles(_ rawPath: String) -> Bool {
        rawPath == path || rawPath.hasPrefix(path + "/")
    }

    /// The resource the served service index gains.
    func serviceIndexResource(base: String) -> JSON {
        .object([
            .init("@id", .string(base + String(Self.path.dropFirst()))),
            .init("@type", .string("PackagePublish/2.0.0")),
            .init("comment", .string("Push with an API key made by `shelf keys create`.")),
        ])
    }

    /// The answer to a request on the endpoint. `cutOff` closes the connection (an upload that
    /// stalls).
    func respond<Body: AsyncSequence & Sendable>(
        method: String, rawPath: String, headers: (String) -> String?, body: Body, client: String,
        cutOff: @escaping @Sendable () -> Void
    ) async -> Reply where Body.Element == ByteBuffer {
        var entry = AuditLog.Entry(
            time: AuditLog.timestamp(), client: client, key: nil, owner: nil, action: method, id: nil, version: nil,
            status: 0, reason: "")
        let reply = await answer(
            method: method, rawPath: rawPath, headers: headers, body: body, client: client, cutOff: cutOff,
            entry: &entry)
        // A preflight or a wrong method is not a push: not logged. A throttled client's refusals
        // are logged once per window: a flood of them must not fill the disk.
        guard ![204, 405].contains(reply.status) else { return reply }
        if reply.status == 429, !(await throttle.logsRefusal(client)) { return reply }
        entry.status = reply.status
        entry.reason = reply.reason ?? ""
        audit.append(entry)
        return reply
    }

    private func answer<Body: AsyncSequence & Sendable>(
        method: String, rawPath: String, headers: (String) -> String?, body: Body, client: String,
        cutOff: @escaping @Sendable () -> Void, entry: inout AuditLog.Entry
    ) async -> Reply where Body.Element == ByteBuffer {
        let rest = rawPath.dropFirst(Self.path.count).split(separator: "/").map {
            String($0).removingPercentEncoding ?? String($0)
        }
        switch (method, rest.count) {
        case ("PUT", 0): entry.action = "push"
        case ("DELETE", 2): entry.action = "unlist"
        case ("POST", 2): entry.action = "relist"
        case ("OPTIONS", _): return Reply(status: 204, headers: FeedServer.corsHeaders)
        default:
            return .text(
                405, "this endpoint takes PUT (a package), DELETE {id}/{version} (unlist), POST {id}/{version} (relist)"
            )
        }
        if let wait = await throttle.retryAfter(client) {
            var r = Reply.text(429, "too many wrong API keys from \(client); try again in \(wait) s")
            r.headers.set("Retry-After", String(wait))
            return r
        }
        let key: ApiKey
        switch keys.check(headers("X-NuGet-ApiKey")) {
        case .missing:
            await throttle.failed(client)
            return .text(401, "an API key is needed (X-NuGet-ApiKey); `shelf keys create` makes one")
        case .wrong:
            await throttle.failed(client)
            return .text(403, "the API key is not valid for this feed")
        case .expired(let k):
            (entry.key, entry.owner) = (k.id, k.owner)
            return .text(403, "the API key \(k.id) expired on \(AuditLog.timestamp(k.expires)); make a new one")
        case .revoked(let k):
            (entry.key, entry.owner) = (k.id, k.owner)
            return .text(403, "the API key \(k.id) was revoked")
        case .valid(let k):
            key = k
            (entry.key, entry.owner) = (k.id, k.owner)
        }
        if entry.action == "push" {
            return await push(key, headers: headers, body: body, cutOff: cutOff, entry: &entry)
        }
        // The id as the build checks ids: nothing else reaches a path or shelf.server.json.
        guard PackageId.isValid(rest[0]) else { return .text(400, "\(rest[0].prefix(100)) is not a package id") }
        entry.id = rest[0]
        entry.version = rest[1]
        return await listing(key, id: rest[0], version: rest[1], listed: entry.action == "relist")
    }

    // MARK: Push

    private func push<Body: AsyncSequence & Sendable>(
        _ key: ApiKey, headers: (String) -> String?, body: Body, cutOff: @escaping @Sendable () -> Void,
        entry: inout AuditLog.Entry
    ) async -> Reply where Body.Element == ByteBuffer {
        guard key.allows(.pushVersions) else {
            return .text(403, "the API key \(key.id) may not push packages (its scopes: \(Self.scopes(key)))")
        }
        if let length = headers("Content-Length").flatMap(Int64.init),
            length > settings.maxPackageSize + 1_048_576
        {
            return .text(
                413, "the package is larger than this feed takes (\(settings.maxPackageSize) bytes)",
                closeConnection: true)
        }
        // The upload, under a name no build reads, beside where it goes.
        // Uploads at once are bounded: each holds a file and a parser.
        guard await uploads.enter() else {
            var r = Reply.text(503, "too many uploads at once; try again shortly", closeConnection: true, linger: 1)
            r.headers.set("Retry-After", "5")
            return r
        }
        defer { Task { await uploads.leave() } }
        let temp = settings.packages + "/.shelf-upload-\(UUID().uuidString).part"
        defer { unlink(temp) }
        let watchdog = Watchdog(idle: settings.uploadIdleTimeout, onStall: cutOff)
        defer { watchdog.stop() }
        do {
            _ = try await Upload(path: temp, limit: settings.maxPackageSize).receive(
                body, contentType: headers("Content-Type"), progress: { watchdog.touch() })
        } catch {
            switch error {
            case .tooLarge:
                return .text(
                    413, "the package is larger than this feed takes (\(settings.maxPackageSize) bytes)",
                    closeConnection: true, linger: 1)
            case .noPackage: return .text(400, "the request holds no package (a multipart part named package)")
            case .malformed(let why): return .text(400, "the request cannot be read: \(why)")
            case .ended:
                return .text(
                    watchdog.stalled ? 408 : 400,
                    watchdog.stalled
                        ? "the upload stalled for \(Int(settings.uploadIdleTimeout)) s and was cut off"
                        : "the upload ended before the package did",
                    closeConnection: true)
            case .cannotWrite(let why): return .text(500, "the package cannot be stored (\(why))")
            }
        }
        // The same checks, and the same message, as `shelf build`.
        let archive: PackageArchive
        do throws(PackageArchiveError) {
            archive = try PackageArchive.read(path: temp)
        } catch {
            return .text(400, "package.nupkg: \(error.description)")
        }
        let id = archive.nuspec.id
        let version = archive.nuspec.version
        (entry.id, entry.version) = (id, version.normalizedString)
        // A symbol package (the client sends it here when the feed has no symbol endpoint) is
        // not a package: stored as one, it would be served as one.
        if archive.nuspec.isSymbolsPackage {
            return .text(400, "this is a symbol package; this feed takes symbols as .snupkg files beside its packages")
        }
        guard key.covers(id) else {
            return .text(
                403, "the API key \(key.id) does not cover \(id) (its patterns: \(key.globs.joined(separator: ", ")))")
        }
        let stored: Ledger.Stored
        switch await ledger.store(temp, archive: archive, key: key) {
        case .refused(let status, let message): return .text(status, message)
        case .stored(let s): stored = s
        }
        let outcome = await builds.run()
        if let refusal = outcome.refused[stored.path] ?? outcome.failure {
            // The build did not take it, or the feed could not be published: it leaves the
            // packages folder again, and the feed is built (and published) without it.
            await ledger.takeBack(stored)
            _ = await builds.run()
            let status = outcome.refused[stored.path] != nil ? 400 : 502
            return .text(status, "\(stored.fileName): \(refusal)")
        }
        guard ledger.served(stored) else {
            await ledger.takeBack(stored)
            _ = await builds.run()
            return .text(
                500, "\(id) \(version.normalizedString) was stored but the feed does not serve it; see the log")
        }
        await ledger.settled(stored)
        ledger.answered(stored)
        return .text(201, "\(id) \(version.normalizedString) is in the feed")
    }

    // MARK: Unlist and relist

    private func listing(_ key: ApiKey, id: String, version text: String, listed: Bool) async -> Reply {
        guard key.allows(.unlist) else {
            return .text(403, "the API key \(key.id) may not unlist or relist (its scopes: \(Self.scopes(key)))")
        }
        guard key.covers(id) else {
            return .text(
                403, "the API key \(key.id) does not cover \(id) (its patterns: \(key.globs.joined(separator: ", ")))")
        }
        guard let version = NuGetVersion(text) else { return .text(400, "\(text) is not a version") }
        switch await ledger.setListed(id: id, version: version, listed: listed, owner: key.owner) {
        case .refused(let status, let message): return .text(status, message)
        case .unchanged, .changed: break
        }
        let outcome = await builds.run()
        if let failure = outcome.failure { return .text(500, "the feed could not be rebuilt: \(failure)") }
        return .text(200, "\(id) \(version.normalizedString) is \(listed ? "listed" : "unlisted")")
    }

    static func scopes(_ key: ApiKey) -> String { key.scopes.map(\.rawValue).joined(separator: ", ") }
}

/// Cuts an upload off when no byte arrived for `idle` seconds.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var last = ProcessInfo.processInfo.systemUptime
    private var done = false
    private(set) var stalled = false
    private var task: Task<Void, Never>?

    init(idle: TimeInterval, onStall: @escaping @Sendable () -> Void) {
        task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(min(max(idle / 4, 0.05), 1) * 1_000_000_000))
                guard let self else { return }
                let fire: Bool = self.lock.withLock {
                    guard !self.done, ProcessInfo.processInfo.systemUptime - self.last > idle else { return false }
                    self.stalled = true
                    self.done = true
                    return true
                }
                if fire {
                    onStall()
                    return
                }
            }
        }
    }

    func touch() { lock.withLock { last = ProcessInfo.processInfo.systemUptime } }

    func stop() {
        lock.withLock { done = true }
        task?.cancel()
    }
}
