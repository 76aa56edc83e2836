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

    /// Seconds to wait before this client may try a key again; nil when it may now.
    func retryAfter(_ client: String) -> Int? {
        let now = Self.now
        let recent = (failures[client] ?? []).filter { now - $0 < window }
        failures[client] = recent.isEmpty ? nil : recent
        guard recent.count >= limit, let oldest = recent.first else { return nil }
        return max(1, Int((window - (now - oldest)).rounded(.up)))
    }

    func failed(_ client: String) {
        failures[client, default: []].append(Self.now)
        // Bounded memory under a flood of addresses: forget the quietest half.
        if failures.count > 100_000 {
            let cutoff = Self.now - window
            failures = failures.filter { $0.value.last ?? 0 > cutoff }
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
            await self.started()
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
