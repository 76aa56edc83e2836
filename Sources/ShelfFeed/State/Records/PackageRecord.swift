import Foundation
import NuGetCore

/// The packages one id is served from, as read (`StateRecord.packages`): every version the feed
/// serves, each named by its copy in the flat container (`flatcontainer/x/1.0.0/x.1.0.0.nupkg`).
/// A build writes it for every id it renders; `shelf push` puts an id together from it (and the
/// packages pushed), so that it needs neither the packages folder nor the other ids' packages.
struct PackageRecord: Sendable {
    static let magic = Array("SHELFPK1".utf8)

    /// The served versions' packages, their `path` the flat container copy's, relative to the
    /// feed's root.
    var archives: [PackageArchive]

    /// The packages of a registration as served (after the policy), named by their copies.
    init(served r: PackageRegistration) {
        archives = r.versions.map { v in
            var a = v.archive
            a.path = FeedLayout.nupkg(r.lowerId, v.lowerVersion)
            return a
        }
    }

    init(archives: [PackageArchive]) { self.archives = archives }

    func encoded() -> Data {
        var w = CacheWriter()
        w.int(ReadCache.format)
        w.int(Int64(archives.count))
        var body: [UInt8] = []
        for a in archives {
            var r = CacheWriter()
            a.encode(into: &r, path: a.path)
            let sealed = SplitFile.sealed(r.bytes)
            w.int(Int64(body.count))
            w.int(Int64(sealed.count))
            body += sealed
        }
        return SplitFile.encode(magic: Self.magic, head: w.bytes, body: body)
    }

    /// The record, its paths made absolute under `root` (where the feed's files are, for a
    /// folder; "" keeps them relative). Nil when it is damaged or of another format.
    static func decode(_ data: Data, root: String) -> PackageRecord? {
        guard case .read(let head, let body) = SplitFile.readHead(.opened(InMemoryRecord(data)), magic: magic) else {
            return nil
        }
        var r = CacheReader(head)
        do throws(CacheReader.Damaged) {
            guard try r.int() == ReadCache.format else { return nil }
            let count = try r.int()
            guard count >= 0, count < Int64(head.count) else { return nil }
            var archives: [PackageArchive] = []
            for _ in 0..<count {
                guard let range = CacheReader.range(offset: try r.int(), length: try r.int(), within: body.length),
                    let bytes = body.read(range)
                else { return nil }
                var ar = CacheReader(bytes)
                let a = try PackageArchive.decode(from: &ar, resolve: { root.isEmpty ? $0 : root + "/" + $0 })
                guard ar.atEnd else { return nil }
                archives.append(a)
            }
            return r.atEnd ? PackageRecord(archives: archives) : nil
        } catch {
            return nil
        }
    }
}

/// A record held in memory, read as a stored one.
struct InMemoryRecord: StoredRecord {
    let bytes: [UInt8]
    init(_ data: Data) { bytes = [UInt8](data) }
    var size: Int { bytes.count }
    func read(_ range: Range<Int>) -> [UInt8]? {
        range.lowerBound >= 0 && range.upperBound <= bytes.count ? Array(bytes[range]) : nil
    }
}
