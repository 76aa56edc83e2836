import Foundation
import NuGetCore
import Testing

@testable import ShelfFeed

/// The catalog history is saved as a base and a tail of the items appended since: a small
/// append writes the tail only, and every way a build can stop between the two files still
/// reads back as the right history (or as unreadable, which means rebuilding it from the catalog).
struct CatalogStateFileTests {
    static func items(_ range: Range<Int>) -> [CatalogItem] {
        range.map { n in
            CatalogItem(
                kind: n % 7 == 6 ? .delete : .details, id: "Pkg\(n % 13)", version: "1.0.\(n)",
                lowerId: "pkg\(n % 13)", lowerVersion: "1.0.\(n)", ticks: Int64(1000 + n), commitId: "c\(n)",
                sha512: n % 7 == 6 ? nil : "h\(n)", listed: n % 7 == 6 ? nil : n % 5 != 0)
        }
    }

    /// Saves `state` as a build would, over the files given; returns the files now on disk.
    static func save(_ state: CatalogState, over files: (base: Data, tail: Data?)) -> (base: Data, tail: Data) {
        let (base, tail) = state.encodedFiles()
        return (base ?? files.base, tail)
    }

    @Test("appends write the tail only, a fold writes the base again, and both read back")
    func appendAndFold() throws {
        let first = CatalogState(items: Self.items(0..<100))
        let (base0, tail0) = first.encodedFiles()
        #expect(base0 != nil, "a history that was not read from a file is written whole")
        var files = (base: base0!, tail: Optional(tail0))
        var state = try CatalogState.decode(files.base, tail: files.tail)
        #expect(state == first)

        // A few appends: the base stays as it is.
        state.items += Self.items(100..<110)
        let (base1, tail1) = state.encodedFiles()
        #expect(base1 == nil)
        files = (files.base, tail1)
        state = try CatalogState.decode(files.base, tail: files.tail)
        #expect(state.items == Self.items(0..<110))

        // Past the fold limit the base is written again, with an empty tail.
        let oldTail = files.tail
        state.items += Self.items(110..<(110 + CatalogState.foldAt))
        let (base2, tail2) = state.encodedFiles()
        #expect(base2 != nil)
        #expect(try CatalogState.decode(base2!, tail: tail2).items == state.items)
        // Stopped after the new base, before its tail: the old tail is already in the base.
        #expect(try CatalogState.decode(base2!, tail: oldTail).items == state.items)
        // No tail at all (an output from before tails): the base alone.
        #expect(try CatalogState.decode(files.base, tail: nil).items == Self.items(0..<100))
        // A tail that follows another base is refused (the build then reads the catalog itself).
        let unrelated = CatalogState(items: Self.items(0..<50)).encodedFiles().base!
        #expect(throws: CatalogState.LoadError.tailDoesNotFollow) { try CatalogState.decode(unrelated, tail: tail1) }
        #expect(throws: CatalogState.LoadError.notAHistory(StateRecord.catalogTail.path)) {
            try CatalogState.decode(files.base, tail: Data("junk".utf8))
        }
        #expect(throws: CatalogState.LoadError.notAHistory(StateRecord.catalog.path)) {
            try CatalogState.decode(Data("junk".utf8), tail: nil)
        }
        // A damaged count in the tail is refused, not trusted (it must not crash the build).
        for bad: Int64 in [-1, -2, Int64.max, 1 << 40] {
            var w = CacheWriter()
            w.int(bad)
            w.string("c99")
            w.int(0)
            let tail = Data(Array("SHELFCT+".utf8) + w.bytes)
            #expect(throws: CatalogState.LoadError.tailDoesNotFollow) {
                try CatalogState.decode(files.base, tail: tail)
            }
        }
    }
}
