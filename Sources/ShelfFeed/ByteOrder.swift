import Foundation

/// The order Shelf sorts ids, versions and paths in: by the bytes of their UTF-8, compared with
/// `memcmp`. For strings in NFC it is the order of `<`; it is several times cheaper than a
/// `String` comparison (which looks at Unicode) on the long shared prefixes of 100,000 paths, and
/// it is the same on every platform, so the feed's bytes are.
enum ByteOrder {
    /// Whether `a` comes before `b`.
    static func precedes(_ a: String, _ b: String) -> Bool {
        let sorted = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in
                let common = min(x.count, y.count)
                let c = common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
        return (sorted ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
