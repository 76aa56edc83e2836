import Foundation
import NuGetCore

/// What the feed-wide documents (search, autocomplete, owners, vulnerability info, the site's
/// home page and search index) need of one id. Made when the id is rendered and kept in
/// `.shelf/ids/` beside its fingerprint, so that a build remakes the feed-wide documents from
/// these digests without opening, or even decoding, the records of ids whose input did not
/// change. A full build makes every digest and renders from them the same way, so both give the
/// same bytes.
public struct IdDigest: Sendable, Equatable {
    /// The id in lowercase; digests are kept in the order of its UTF-8 bytes.
    public var lowerId: String
    /// The id as shown.
    public var id: String
    public var versionCount: Int
    public var listedCount: Int
    /// When the newest listed version was packed; nil when no version is listed.
    public var newestListed: Date?
    /// When the newest version was packed.
    public var newest: Date
    public var owners: [String]
    public var verified: Bool
    /// The lowercase ids this id's versions depend on, sorted: its pages link those in the feed,
    /// so it is rendered again when one of them comes or goes.
    public var dependencies: [String]
    /// Pieces of the feed-wide documents, ready-made by their renderers, by key.
    public var parts: [String: [UInt8]]

    public init(_ r: PackageRegistration, parts: [String: [UInt8]]) {
        lowerId = r.lowerId
        id = r.id
        versionCount = r.versions.count
        let listed = r.versions.filter(\.listed)
        listedCount = listed.count
        newestListed = listed.map(\.archive.packedAt).max()
        newest = r.versions.map(\.archive.packedAt).max() ?? Date(timeIntervalSince1970: 0)
        owners = r.owners
        verified = r.verified
        dependencies = Self.dependencies(of: r)
        self.parts = parts
    }

    /// The lowercase ids any version of `r` depends on or names as the alternate of its
    /// deprecation (its pages link those that are in the feed), sorted by UTF-8 bytes.
    public static func dependencies(of r: PackageRegistration) -> [String] {
        var set = Set<String>()
        for v in r.versions {
            for g in v.nuspec.dependencyGroups { for d in g.dependencies { set.insert(d.id.lowercased()) } }
            if let alternate = v.deprecation?.alternateId { set.insert(alternate.lowercased()) }
        }
        return set.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    func encode(into w: inout CacheWriter) {
        w.string(lowerId)
        w.string(id)
        w.int(Int64(versionCount))
        w.int(Int64(listedCount))
        w.bool(newestListed != nil)
        w.int(Int64(bitPattern: (newestListed?.timeIntervalSince1970 ?? 0).bitPattern))
        w.int(Int64(bitPattern: newest.timeIntervalSince1970.bitPattern))
        w.strings(owners)
        w.bool(verified)
        w.strings(dependencies)
        let keys = parts.keys.sorted()
        w.int(Int64(keys.count))
        for k in keys {
            w.string(k)
            w.raw(parts[k]!)
        }
    }

    static func decode(from r: inout CacheReader) throws(CacheReader.Damaged) -> IdDigest {
        func date(_ bits: Int64) -> Date { Date(timeIntervalSince1970: Double(bitPattern: UInt64(bitPattern: bits))) }
        let lowerId = try r.string()
        let id = try r.string()
        let versionCount = Int(try r.int())
        let listedCount = Int(try r.int())
        let hasListed = try r.bool()
        let newestListed = date(try r.int())
        let newest = date(try r.int())
        let owners = try r.strings()
        let verified = try r.bool()
        let dependencies = try r.strings()
        let count = try r.int()
        guard count >= 0, count < 1024 else { throw CacheReader.Damaged() }
        var parts: [String: [UInt8]] = [:]
        for _ in 0..<count {
            let key = try r.string()
            parts[key] = try r.raw()
        }
        return IdDigest(
            lowerId: lowerId, id: id, versionCount: versionCount, listedCount: listedCount,
            newestListed: hasListed ? newestListed : nil, newest: newest, owners: owners, verified: verified,
            dependencies: dependencies, parts: parts)
    }

    init(
        lowerId: String, id: String, versionCount: Int, listedCount: Int, newestListed: Date?, newest: Date,
        owners: [String], verified: Bool, dependencies: [String], parts: [String: [UInt8]]
    ) {
        self.lowerId = lowerId
        self.id = id
        self.versionCount = versionCount
        self.listedCount = listedCount
        self.newestListed = newestListed
        self.newest = newest
        self.owners = owners
        self.verified = verified
        self.dependencies = dependencies
        self.parts = parts
    }

    /// The lower ids of the first `limit` ids with a listed version, most recently published
    /// first, then by id (the order search shows them in). A selection, not a sort: it runs on
    /// every build, over every id's digest, for the few that search shows; sorting (and copying)
    /// 20,000 digests to keep 25 cost more than the rest of the search documents.
    public static func ranked(_ digests: [IdDigest], limit: Int) -> [String] {
        guard limit > 0 else { return [] }
        // Whether digest a comes before digest b (both have a listed version).
        func precedes(_ a: Int, _ b: Int) -> Bool {
            let x = digests[a].newestListed!
            let y = digests[b].newestListed!
            if x != y { return x > y }
            return ByteOrder.precedes(digests[a].lowerId, digests[b].lowerId)
        }
        // The best so far, best first: a new one goes in where it belongs, the last one out.
        var top: [Int] = []
        top.reserveCapacity(limit + 1)
        for i in digests.indices where digests[i].newestListed != nil {
            if top.count == limit, !precedes(i, top[limit - 1]) { continue }
            var low = 0
            var high = top.count
            while low < high {
                let mid = (low + high) / 2
                if precedes(top[mid], i) { low = mid + 1 } else { high = mid }
            }
            top.insert(i, at: low)
            if top.count > limit { top.removeLast() }
        }
        return top.map { digests[$0].lowerId }
    }
}
