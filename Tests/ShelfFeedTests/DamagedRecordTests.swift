import Foundation
import Testing

@testable import NuGetCore
@testable import ShelfFeed

/// Records read back from a destination others can write (a bucket, a share): whole and sealed,
/// but with numbers no build writes. Each is refused as damaged; none traps.
struct DamagedRecordTests {
    @Test(
        "a range from a record: inside the body, or nil (never an overflow)",
        arguments: [
            (0, 4, 10, true), (6, 4, 10, true), (7, 4, 10, false), (-1, 2, 10, false), (2, -1, 10, false),
            (Int64.max, 1, 10, false), (1, Int64.max, 10, false), (Int64.max, Int64.max, 10, false),
            (10, 0, 10, true),
        ] as [(Int64, Int64, Int, Bool)])
    func range(offset: Int64, length: Int64, limit: Int, inside: Bool) {
        let r = CacheReader.range(offset: offset, length: length, within: limit)
        #expect((r != nil) == inside)
        if let r { #expect(r.lowerBound >= 0 && r.upperBound <= limit) }
    }

    @Test("a count larger than what follows, or negative, is damage", arguments: [Int64(-1), 9, Int64.max, Int64.min])
    func count(_ n: Int64) {
        var w = CacheWriter()
        w.int(n)
        w.bool(true)
        var r = CacheReader(w.bytes)
        #expect(throws: CacheReader.Damaged.self) { _ = try r.count() }
    }

    /// A package record whose head names a body range past its end.
    static func packageRecord(offset: Int64, length: Int64) -> Data {
        var w = CacheWriter()
        w.int(ReadCache.format)
        w.int(1)
        w.int(offset)
        w.int(length)
        return SplitFile.encode(magic: PackageRecord.magic, head: w.bytes, body: [1, 2, 3])
    }

    @Test(
        "a package record with a hostile range decodes to nil",
        arguments: [(Int64.max, 1), (1, Int64.max), (-5, 2), (0, 4)] as [(Int64, Int64)])
    func packageRecord(offset: Int64, length: Int64) {
        #expect(PackageRecord.decode(Self.packageRecord(offset: offset, length: length), root: "/feed") == nil)
    }

    @Test("a split record whose head length is huge is damaged")
    func hugeHead() {
        var w = CacheWriter()
        w.int(Int64.max - 2)
        let data = Data(PackageRecord.magic + w.bytes + [0, 0, 0, 0])
        #expect(PackageRecord.decode(data, root: "") == nil)
    }
}
