import Foundation

/// Work spread over every core, for CPU-bound steps of a build (rendering, hashing, encoding
/// state). Blocking on purpose: each piece is short and does no I/O that waits on another task,
/// and `DispatchQueue.concurrentPerform` sizes itself to the cores.
enum Parallel {
    /// `transform` applied to every item, in about `pieces` pieces of work on all cores; the
    /// results in the order of `items`.
    static func map<T: Sendable, U: Sendable>(
        _ items: [T], pieces: Int, _ transform: @escaping @Sendable (T) -> U
    ) -> [U] {
        let chunk = max(1, items.count / pieces + 1)
        return run(
            stride(from: 0, to: items.count, by: chunk).map { start in
                { @Sendable in items[start..<min(start + chunk, items.count)].map(transform) }
            }
        ).flatMap { $0 }
    }

    /// Runs independent pieces of work on all cores; their results in the order given.
    static func run<T: Sendable>(_ work: [@Sendable () -> T]) -> [T] {
        let results = Slots<T>(count: work.count)
        DispatchQueue.concurrentPerform(iterations: work.count) { results.set($0, work[$0]()) }
        return results.values
    }
}

/// Results filled in by concurrent work, each slot once.
final class Slots<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ value: T) {
        lock.lock()
        slots[i] = value
        lock.unlock()
    }

    var values: [T] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}

/// Hands out the indices 0..<count once each, to workers on several threads, and counts those
/// finished.
final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let count: Int
    private var next = 0
    private var done = 0

    init(count: Int) { self.count = count }

    /// The next index, or nil when all are taken.
    func take() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    /// Counts one more index finished and tells `report` how many are, in order: the reports
    /// of several workers never go down.
    func finished(_ report: (Int) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        report(done)
    }
}

/// A value a task hands over whole. A task keeps its result, so a dictionary taken from
/// `task.value` is shared with it and copied on its first change (100,000 read-cache entries:
/// a few tens of milliseconds of an add-one build); taken out of this box, it is not shared.
final class Handover<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T?

    init(_ value: T) { self.value = value }

    /// The value, once; nil after.
    func take() -> T? {
        lock.lock()
        defer { lock.unlock() }
        var out: T? = nil
        swap(&out, &value)
        return out
    }
}

/// What a one-shot process keeps until it exits: a build's records (read cache, per-id records,
/// catalog history) are left for the process's exit to free, rather than taken apart one object
/// at a time, which is about a tenth of a small rebuild of a large feed. The box is retained and
/// never released, on purpose; nothing global holds it.
enum LeftToExit {
    private final class Kept: @unchecked Sendable {
        let things: [Any]
        init(_ things: [Any]) { self.things = things }
    }

    static func keep(_ things: [Any]) {
        _ = Unmanaged.passRetained(Kept(things))
    }
}
