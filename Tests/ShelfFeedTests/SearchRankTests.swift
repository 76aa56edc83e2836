import Foundation
import Testing

@testable import ShelfFeed

/// The ids the static search shows: a selection of the first few, which must be exactly the
/// first few of the full order (newest listed version first, then the lower id by its bytes).
struct SearchRankTests {
    /// `count` digests with many equal dates (so the id decides), every fifth with no listed
    /// version, ids in no particular order and some outside ASCII.
    static func digests(_ count: Int) -> [IdDigest] {
        (0..<count).map { i in
            let n = (i * 7919) % max(count, 1)
            let listed = i % 5 == 0 ? nil : Date(timeIntervalSince1970: Double((i * 31) % 40) * 86_400)
            return IdDigest(
                lowerId: n % 7 == 0 ? "é.\(n)" : "id.\(n)", id: "Id.\(n)", versionCount: 1,
                listedCount: listed == nil ? 0 : 1, newestListed: listed, newest: Date(timeIntervalSince1970: 0),
                owners: [], verified: false, dependencies: [], parts: [:])
        }
    }

    @Test("the first `limit` of the full order", arguments: [0, 1, 2, 30, 1000], [0, 1, 25, 999, 5000])
    func firstOfTheOrder(count: Int, limit: Int) {
        let all = Self.digests(count)
        let sorted = all.filter { $0.newestListed != nil }.sorted { a, b in
            a.newestListed! != b.newestListed!
                ? a.newestListed! > b.newestListed! : Array(a.lowerId.utf8).lexicographicallyPrecedes(b.lowerId.utf8)
        }
        #expect(IdDigest.ranked(all, limit: limit) == Array(sorted.prefix(limit).map(\.lowerId)))
    }
}
