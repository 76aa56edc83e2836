import Foundation
import ShelfFeed

/// A one-line progress display on a terminal's standard error; silent when not a terminal.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ progress: FeedBuilder.Progress) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let (label, done, total): (String, Int, Int)
        switch progress {
        case .reading(let d, let t): (label, done, total) = ("reading packages", d, t)
        case .writing(let d, let t): (label, done, total) = ("writing feed", d, t)
        }
        let now = Date()
        guard done == total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        drawn = true
        FileHandle.standardError.write(Data("\r\u{1B}[K\(label) \(done)/\(total)".utf8))
    }

    /// A free-form status line (publish).
    func status(_ text: String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        drawn = true
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    }

    func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
