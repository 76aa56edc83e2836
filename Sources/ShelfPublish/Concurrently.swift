/// Work on a bucket's objects, a bounded number of requests at a time.
enum Concurrently {
    /// Runs `body` over `items`, at most `limit` at once; the results come in order of
    /// completion, and `onEach` is called as each one comes.
    static func map<Item: Sendable, T: Sendable>(
        _ items: [Item], limit: Int, _ body: @escaping @Sendable (Item) async throws -> T, onEach: () -> Void = {}
    ) async throws -> [T] {
        try await withThrowingTaskGroup(of: T.self) { group in
            var next = 0
            var out: [T] = []
            out.reserveCapacity(items.count)
            while next < items.count && next < max(1, limit) {
                let item = items[next]
                group.addTask { try await body(item) }
                next += 1
            }
            while let r = try await group.next() {
                out.append(r)
                onEach()
                if next < items.count {
                    let item = items[next]
                    group.addTask { try await body(item) }
                    next += 1
                }
            }
            return out
        }
    }
}
