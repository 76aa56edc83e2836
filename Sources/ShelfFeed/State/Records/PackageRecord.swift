import Foundation
import NuGetCore

/// The packages one id is served from, as read (`StateRecord.packages`): every version the feed
/// serves, each named by its copy in the flat container (`flatcontainer/x/1.0.0/x.1.0.0.nupkg`).
/// A build writes it for every id it renders; `shelf push` puts an id together from it (and the
/// packages pushed), so that it needs neither the packages folder nor the other ids' packages.
struct PackageRecord: Sendable {
    static let magic = Array("SHELFPK2".utf8)

    /// The served versions' packages, their `path` the flat container copy's, relative to the
    /// feed's root.
    var archives: [PackageArchive]
    /// Each version's symbols as served (as `archives`), named by the flat container's copy of
    /// the `.snupkg`: a push that puts the id together again serves them as they were.
    var symbols: [Symbols?]

    /// The packages of a registration as served (after the policy), named by their copies.
    init(served r: PackageRegistration) {
        archives = r.versions.map { v in
            var a = v.archive
            a.path = FeedLayout.nupkg(r.lowerId, v.lowerVersion)
            return a
        }
        symbols = r.versions.map { v in
            v.symbols.map { s in
                var copy = s
                copy.path = FeedLayout.snupkg(r.lowerId, v.lowerVersion)
                return copy
            }
        }
    }

    init(archives: [PackageArchive], symbols: [Symbols?]? = nil) {
        self.archives = archives
        self.symbols = symbols ?? Array(repeating: nil, count: archives.count)
    }

    func encoded() -> Data {
        var w = CacheWriter()
        w.int(ReadCache.format)
        w.int(Int64(archives.count))
        var body: [UInt8] = []
        for (a, symbols) in zip(archives, symbols) {
            var r = CacheWriter()
            a.encode(into: &r, path: a.path)
            r.bool(symbols != nil)
            if let symbols {
                r.string(symbols.path)
                r.int(symbols.size)
                r.string(symbols.sha512)
                r.int(Int64(symbols.files.count))
                for f in symbols.files {
                    r.string(f.entry)
                    r.int(f.size)
                    r.string(f.key)
                }
            }
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
            var symbols: [Symbols?] = []
            for _ in 0..<count {
                guard let range = CacheReader.range(offset: try r.int(), length: try r.int(), within: body.length),
                    let bytes = body.read(range)
                else { return nil }
                var ar = CacheReader(bytes)
                let resolve = { (path: String) in root.isEmpty ? path : root + "/" + path }
                let a = try PackageArchive.decode(from: &ar, resolve: resolve)
                var s: Symbols?
                if try ar.bool() {
                    let path = resolve(try ar.string())
                    let size = try ar.int()
                    let sha512 = try ar.string()
                    var files: [SymbolPackage.File] = []
                    for _ in 0..<(try ar.count()) {
                        files.append(
                            SymbolPackage.File(entry: try ar.string(), size: try ar.int(), key: try ar.string()))
                    }
                    s = Symbols(path: path, size: size, sha512: sha512, files: files)
                }
                guard ar.atEnd else { return nil }
                archives.append(a)
                symbols.append(s)
            }
            return r.atEnd ? PackageRecord(archives: archives, symbols: symbols) : nil
        } catch {
            return nil
        }
    }
}

/// A record held in memory (decoded from bytes, or fetched whole from a bucket), read as a
/// stored one.
public struct InMemoryRecord: StoredRecord {
    let bytes: [UInt8]
    public init(_ data: Data) { bytes = [UInt8](data) }
    public var size: Int { bytes.count }
    public func read(_ range: Range<Int>) -> [UInt8]? {
        range.lowerBound >= 0 && range.upperBound <= bytes.count ? Array(bytes[range]) : nil
    }
}
