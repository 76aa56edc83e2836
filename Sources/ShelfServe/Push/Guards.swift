import Foundation
import ShelfFeed

/// Slows down key guessing: a client address that presented `limit` wrong keys within `window`
/// seconds is answered 429 (with Retry-After) until the oldest of them is `window` old.
actor KeyGuessThrottle {
    let limit: Int
    let window: TimeInterval
    private var failures: [String: [TimeInterval]] = [:]

    init(limit: Int = 10, window: TimeInterval = 60) {
        self.limit = max(1, limit)
        self.window = window
    }

    private static var now: TimeInterval { ProcessInfo.processInfo.systemUptime }

    /// The address a limit applies to: an IPv4 address, or an IPv6 address's /64 (one host
    /// holds a whole /64).
    static func bucket(_ client: String) -> String {
        var v6 = in6_addr()
        guard client.contains(":"), inet_pton(AF_INET6, client, &v6) == 1 else { return client }
        return withUnsafeBytes(of: &v6) { raw in raw.prefix(8).map { String(format: "%02x", $0) }.joined() } + "/64"
    }

    /// Seconds to wait before this client may try a key again; nil when it may now.
    func retryAfter(_ client: String) -> Int? {
        let key = Self.bucket(client)
        let now = Self.now
        let recent = (failures[key] ?? []).filter { now - $0 < window }
        failures[key] = recent.isEmpty ? nil : recent
        guard recent.count >= limit, let oldest = recent.first else { return nil }
        return max(1, Int((window - (now - oldest)).rounded(.up)))
    }

    private var refusalsLogged: [String: TimeInterval] = [:]

    /// Whether a 429 to this client goes to the audit log: the first of each window.
    func logsRefusal(_ client: String) -> Bool {
        let key = Self.bucket(client)
        let now = Self.now
        if let last = refusalsLogged[key], now - last < window { return false }
        refusalsLogged[key] = now
        if refusalsLogged.count > 100_000 { refusalsLogged = refusalsLogged.filter { now - $0.value < window } }
        return true
    }

    func failed(_ client: String) {
        let key = Self.bucket(client)
        failures[key, default: []].append(Self.now)
        if failures[key]!.count > limit * 2 { failures[key]!.removeFirst(failures[key]!.count - limit * 2) }
        // Bounded memory under a flood of addresses: past 100,000, the half whose last failure is
        // oldest is forgotten (a sort now and then, not a scan per failure).
        if failures.count > 100_000 {
            let keep = failures.sorted { ($0.value.last ?? 0) > ($1.value.last ?? 0) }.prefix(50_000)
            failures = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}

/// The audit log (`.shelf/audit.log`): a JSON line per push, delete and relist, accepted or
/// refused: when, from where, which key (its id, never the key), its owner, what, the answer.
struct AuditLog: Sendable {
    let path: String

    init(feedRoot: String) { path = (feedRoot as NSString).appendingPathComponent(StateRecord.auditLog.path) }

    struct Entry: Encodable {
        var time: String
        var client: String
        var key: String?
        var owner: String?
        var action: String
        var id: String?
        var version: String?
        var status: Int
        var reason: String
    }

    func append(_ entry: Entry) {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? e.encode(entry) else { return }
        line.append(0x0A)
        // One write with O_APPEND: lines of concurrent requests never interleave.
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}

/// Builds run one at a time; requests that arrive while one runs are served together by the
/// next one (pushes arriving together are built together).
actor BuildQueue<Outcome: Sendable> {
    private let build: @Sendable () async -> Outcome
    private var running: Task<Outcome, Never>?
    private var waiting: Task<Outcome, Never>?

    init(_ build: @escaping @Sendable () async -> Outcome) { self.build = build }

    /// A build that starts after this call: its outcome.
    func run() async -> Outcome {
        if let waiting { return await waiting.value }
        let before = running
        let task = Task<Outcome, Never> {
            _ = await before?.value
            self.started()
            return await self.build()
        }
        if before == nil { running = task } else { waiting = task }
        return await task.value
    }

    private func started() {
        if let waiting {
            running = waiting
            self.waiting = nil
        }
    }
}

/// A bounded number of uploads at once.
actor UploadSlots {
    let limit: Int
    private var used = 0

    init(limit: Int) { self.limit = limit }

    func enter() -> Bool {
        guard used < limit else { return false }
        used += 1
        return true
    }

    func leave() { used = max(0, used - 1) }
}
