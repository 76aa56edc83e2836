import Foundation
import NuGetCore

/// What the previous build learnt from each package file, so that the next build opens only the
/// files that are new or changed (`StateRecord.readCache`).
///
/// A file counts as unchanged when its size, modification time, status-change time, inode and
/// device are all the same: the status-change time (ctime) moves on every write and cannot be
/// set back by tools such as `touch`, so a replaced file is never mistaken for the old one. Any
/// difference means the file is read (and hashed) again. A missing or damaged cache only means
/// a full read, with a note.
struct ReadCache: Sendable {
    /// The cache is split into shards by path, so that adding one package rewrites one shard.
    static let shardCount = 64

    /// A stable shard number for a path (FNV-1a; Swift's own hash is seeded per process).
    static func shard(of path: String) -> Int {
        var h: UInt32 = 2_166_136_261
        for b in path.utf8 {
            h ^= UInt32(b)
            h = h &* 16_777_619
        }
        return Int(h % UInt32(shardCount))
    }
    /// Bumped whenever what the reader extracts from a package changes.
    static let format: Int64 = 8
    static let magic = Array("SHELFRC3".utf8)

    /// The identity of a file on disk.
    /// A package file's identity: a file whose identity matches its entry is not read again.
    typealias Stamp = FileIdentity

    enum Record: Sendable {
        /// Read by this build.
        case archive(PackageArchive)
        /// An archive's record as a shard stores it, decoded only when the build needs the
        /// package (its id changed): most builds never decode most records.
        case stored(SplitFile.Body, Range<Int>)
        /// The reason the file cannot be served (as the reader said it).
        case failure(String)
    }

    struct Entry: Sendable {
        var stamp: Stamp
        /// The package's id in lowercase ("" for a file that cannot be served).
        var lowerId: String
        /// When the package was packed, in milliseconds since 1970 (as the record keeps it).
        var packedAtMilliseconds: Int64
        /// What the reader noticed about the file.
        var warnings: [String]
        var record: Record
        /// The shard it was read from (-1: read by this build), so that saving does not hash
        /// every path again to find which entries a changed shard holds.
        var shard = -1

        init(stamp: Stamp, archive: PackageArchive) {
            self.stamp = stamp
            lowerId = archive.nuspec.id.lowercased()
            packedAtMilliseconds = Self.milliseconds(archive.packedAt)
            warnings = archive.warnings
            record = .archive(archive)
        }

        init(stamp: Stamp, failure: String) {
            self.stamp = stamp
            lowerId = ""
            packedAtMilliseconds = 0
            warnings = []
            record = .failure(failure)
        }

        init(stamp: Stamp, lowerId: String, packedAtMilliseconds: Int64, warnings: [String], record: Record) {
            self.stamp = stamp
            self.lowerId = lowerId
            self.packedAtMilliseconds = packedAtMilliseconds
            self.warnings = warnings
            self.record = record
        }

        static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

        var packedAt: Date { Date(timeIntervalSince1970: Double(packedAtMilliseconds) / 1000) }

        var failure: String? {
            if case .failure(let why) = record { return why }
            return nil
        }

        /// The package (decoded from the shard if need be); nil for a file that cannot be served
        /// or a record that cannot be decoded (then the file is read again).
        func archive(root: String) -> PackageArchive? {
            switch record {
            case .archive(let a): return a
            case .failure: return nil
            case .stored(let body, let range):
                guard let bytes = body.read(range) else { return nil }
                var r = CacheReader(bytes)
                guard let a = try? PackageArchive.decode(from: &r, resolve: { root + "/" + $0 }), r.atEnd else {
                    return nil
                }
                return a
            }
        }
    }

    /// By path relative to the input folder.
    var entries: [String: Entry] = [:]

    /// The shard files, for the shards in `only` (all when nil).
    func encodedShards(only: Set<Int>? = nil) -> [Int: Data] {
        var byShard: [Int: [(String, Entry)]] = [:]
        for (path, entry) in entries {
            let n = entry.shard >= 0 ? entry.shard : Self.shard(of: path)
            if only?.contains(n) ?? true { byShard[n, default: []].append((path, entry)) }
        }
        let groups = byShard
        let shards = (0..<Self.shardCount).filter { only?.contains($0) ?? true }
        let encoded = Parallel.map(shards, pieces: max(1, min(shards.count, 16))) {
            Self.encode(groups[$0] ?? [])
        }
        return Dictionary(uniqueKeysWithValues: zip(shards, encoded))
    }

    /// A shard: the head (every entry's path, stamp, id, date, warnings and where its record
    /// is), then the records.
    static func encode(_ list: [(String, Entry)]) -> Data {
        var w = CacheWriter()
        var body: [UInt8] = []
        w.int(Self.format)
        var kept: [(String, Entry, [UInt8]?)] = []
        for (path, entry) in list.sorted(by: { $0.0 < $1.0 }) {
            switch entry.record {
            case .archive(let a):
                var record = CacheWriter()
                a.encode(into: &record, path: path)
                kept.append((path, entry, SplitFile.sealed(record.bytes)))
            case .stored(let stored, let range):
                // A record that cannot be read back is left out: the file is read again next time.
                // (One read back but damaged is copied as it is, and is read again when needed.)
                guard let bytes = stored.readSealed(range) else { continue }
                kept.append((path, entry, bytes))
            case .failure: kept.append((path, entry, nil))
            }
        }
        w.int(Int64(kept.count))
        for (path, entry, record) in kept {
            w.string(path)
            for v in [entry.stamp.size, entry.stamp.mtime, entry.stamp.ctime, entry.stamp.inode, entry.stamp.device] {
                w.int(v)
            }
            if let record {
                w.bool(true)
                w.string(entry.lowerId)
                w.int(entry.packedAtMilliseconds)
                w.strings(entry.warnings)
                w.int(Int64(body.count))
                w.int(Int64(record.count))
                body += record
            } else {
                w.bool(false)
                w.string(entry.failure ?? "")
            }
        }
        return SplitFile.encode(magic: magic, head: w.bytes, body: body)
    }

    /// Every shard, decoded in parallel. `damaged` when some shard is unreadable, of another
    /// format, or missing while others are there (its files are read again).
    static func load(from store: any StateStore) async -> (cache: ReadCache, damaged: Bool) {
        await withTaskGroup(of: (ReadCache?, Bool).self) { group in
            for n in 0..<shardCount {
                group.addTask {
                    switch SplitFile.readHead(await store.open(.readCache(shard: n)), magic: magic) {
                    case .missing: return (nil, false)
                    case .damaged: return (nil, true)
                    case .read(let head, let body):
                        guard let part = decode(head: head, body: body, shard: n) else { return (nil, true) }
                        return (part, false)
                    }
                }
            }
            var parts: [ReadCache] = []
            var damaged = false
            var present = 0
            for await (part, bad) in group {
                if let part { parts.append(part) }
                damaged = damaged || bad
                if part != nil || bad { present += 1 }
            }
            // Every build writes all the shards: some missing means the cache is not whole.
            if present > 0 && present < shardCount { damaged = true }
            var cache = ReadCache()
            cache.entries.reserveCapacity(parts.reduce(0) { $0 + $1.entries.count })
            for part in parts { cache.entries.merge(part.entries) { a, _ in a } }
            return (cache, damaged)
        }
    }

    /// Reads one shard's head; nil when it is of another format or damaged.
    static func decode(head: [UInt8], body: SplitFile.Body, shard: Int) -> ReadCache? {
        var r = CacheReader(head)
        do throws(CacheReader.Damaged) {
            guard try r.int() == format else { return nil }
            let count = try r.int()
            guard count >= 0, count < Int64(head.count) else { return nil }
            var cache = ReadCache()
            cache.entries.reserveCapacity(Int(count))
            for _ in 0..<count {
                let path = try r.string()
                let stamp = Stamp(
                    size: try r.int(), mtime: try r.int(), ctime: try r.int(), inode: try r.int(), device: try r.int())
                if try r.bool() {
                    let lowerId = try r.string()
                    let packed = try r.int()
                    let warnings = try r.strings()
                    guard let range = CacheReader.range(offset: try r.int(), length: try r.int(), within: body.length)
                    else { return nil }
                    var entry = Entry(
                        stamp: stamp, lowerId: lowerId, packedAtMilliseconds: packed, warnings: warnings,
                        record: .stored(body, range))
                    entry.shard = shard
                    cache.entries[path] = entry
                } else {
                    cache.entries[path] = Entry(stamp: stamp, failure: try r.string())
                }
            }
            return r.atEnd ? cache : nil
        } catch {
            return nil
        }
    }
}
