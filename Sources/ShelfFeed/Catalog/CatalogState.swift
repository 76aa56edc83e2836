import Crypto
import Foundation
import NuGetCore

/// The feed's catalog history: every commit ever made, oldest first.
///
/// nuget.org's catalog (learn.microsoft.com `nuget/api/catalog-resource`) is append-only: mirrors
/// and tools keep a cursor (the last `commitTimeStamp` they processed) and read only newer items.
/// So a Shelf build never rewrites history; it compares the feed with the last item recorded for
/// each package version and appends a `PackageDetails` item for a version that is new, replaced
/// (another hash) or listed differently, and a `PackageDelete` item for one that is gone.
///
/// Commit times come from the packages, never from the wall clock, so that the same history and
/// input give the same bytes: a new item's time is the package's own timestamp (its nuspec's
/// packing time), or one tick (100 ns) after the previous commit when that is later. Times
/// therefore strictly increase, which is what a cursor needs. Each item is its own commit; the
/// commit id is a UUID derived from the commit's content.
public struct CatalogState: Sendable, Equatable {
    public var items: [CatalogItem]
    /// The encoded form of the first items, as read: saving the history after a build appended
    /// a few items copies it rather than encoding every item again. Not part of the value.
    var encodedPrefix: EncodedPrefix?

    struct EncodedPrefix: Sendable {
        /// The file as read (shared, not copied); the items start at `start`.
        var file: [UInt8]
        var start: Int
        var count: Int
        var lastCommitId: String
    }

    public init(items: [CatalogItem] = []) { self.items = items }

    /// The same history (however it was read).
    public static func == (a: CatalogState, b: CatalogState) -> Bool { a.items == b.items }

    /// 3: details items record their annotations (deprecation, advisories). A history of format
    /// 2 is still read (its items have none); the next save writes it whole in format 3.
    static let formatVersion = 3

    /// The history with this build's changes appended, and how many items were appended.
    /// `only`: the ids `model` covers (the others are as the history has them); nil: `model` is
    /// the whole feed.
    public func appending(_ model: FeedModel, only: Set<String>? = nil) -> (state: CatalogState, added: Int) {
        var latest: [String: CatalogItem] = [:]
        if let only {
            // Most items are of other ids: their length alone rules them out, without hashing.
            let lengths = Set(only.map(\.utf8.count))
            for item in items where lengths.contains(item.lowerId.utf8.count) && only.contains(item.lowerId) {
                latest[item.key] = item
            }
        } else {
            for item in items { latest[item.key] = item }
        }

        struct Event {
            var base: Int64
            var item: CatalogItem
        }
        var events: [Event] = []
        var present = Set<String>()
        for r in model.registrations {
            for v in r.versions {
                let key = CatalogItem.key(r.lowerId, v.lowerVersion)
                present.insert(key)
                let previous = latest[key]
                let annotations = CatalogItem.annotations(v)
                if let previous, previous.kind == .details, previous.sha512 == v.archive.sha512,
                    previous.listed == v.listed, previous.annotations == annotations
                {
                    continue
                }
                let item = CatalogItem(
                    kind: .details, id: v.nuspec.id, version: v.version.fullString, lowerId: r.lowerId,
                    lowerVersion: v.lowerVersion, ticks: 0, commitId: "", sha512: v.archive.sha512,
                    listed: v.listed, annotations: annotations)
                events.append(Event(base: CatalogTime.ticks(v.archive.packedAt), item: item))
            }
        }
        for (key, item) in latest where item.kind == .details && !present.contains(key) {
            let delete = CatalogItem(
                kind: .delete, id: item.id, version: item.version, lowerId: item.lowerId,
                lowerVersion: item.lowerVersion, ticks: 0, commitId: "", sha512: nil, listed: nil)
            events.append(Event(base: 0, item: delete))
        }
        // Deletes first (they have no time of their own), then by package time, then by name.
        events.sort { a, b in
            if a.base != b.base { return a.base < b.base }
            if a.item.kind != b.item.kind { return a.item.kind == .delete }
            if a.item.lowerId != b.item.lowerId {
                return ByteOrder.precedes(a.item.lowerId, b.item.lowerId)
            }
            return ByteOrder.precedes(a.item.lowerVersion, b.item.lowerVersion)
        }
        var next = items
        var last = items.last?.ticks ?? 0
        for event in events {
            var item = event.item
            item.ticks = max(event.base, last + 1)
            last = item.ticks
            item.commitId = Self.commitId(for: item)
            next.append(item)
        }
        var state = CatalogState(items: next)
        state.encodedPrefix = encodedPrefix
        return (state, events.count)
    }

    /// A version 5 style UUID from the SHA-256 of what the commit records, so that the same
    /// commit always has the same id.
    static func commitId(for item: CatalogItem) -> String {
        let text = "\(item.ticks)|\(item.kind.rawValue)|\(item.lowerId)|\(item.lowerVersion)|\(item.sha512 ?? "")"
        var bytes = Array(SHA256.hash(data: Data(text.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Hex.string(bytes)
        let parts = [
            hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4),
            hex.dropFirst(20),
        ]
        return parts.joined(separator: "-")
    }

    // MARK: Persistence

    static let magic = Array("SHELFCT\n".utf8)

    /// The state as stored in the feed folder (a compact binary form: it is read on every build).
    public func encoded() -> Data {
        var head = CacheWriter()
        head.int(Int64(Self.formatVersion))
        head.int(Int64(items.count))
        var from = 0
        var out = Data(Self.magic + head.bytes)
        if let prefix = encodedPrefix, prefix.count > 0, prefix.count <= items.count,
            items[prefix.count - 1].commitId == prefix.lastCommitId
        {
            out.reserveCapacity(prefix.file.count + 256 * (items.count - prefix.count))
            prefix.file.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(rebasing: $0[prefix.start...])) }
            from = prefix.count
        }
        var w = CacheWriter()
        for item in items[from...] { Self.encode(item, into: &w) }
        out.append(contentsOf: w.bytes)
        return out
    }

    /// Reads what `encode(_:into:)` wrote in `format` (a delete has no hash, listing or annotations).
    private static func decodeItem(_ r: inout CacheReader, format: Int) throws(CacheReader.Damaged) -> CatalogItem {
        let details = try r.bool()
        var item = CatalogItem(
            kind: details ? .details : .delete, id: try r.string(), version: try r.string(),
            lowerId: try r.string(), lowerVersion: try r.string(), ticks: try r.int(), commitId: try r.string(),
            sha512: try r.optional(), listed: try r.bool())
        item.annotations = format >= 3 ? try r.optional() : ""
        if !details {
            item.sha512 = nil
            item.listed = nil
            item.annotations = nil
        }
        return item
    }

    private static func encode(_ item: CatalogItem, into w: inout CacheWriter) {
        w.bool(item.kind == .details)
        w.string(item.id)
        w.string(item.version)
        w.string(item.lowerId)
        w.string(item.lowerVersion)
        w.int(item.ticks)
        w.string(item.commitId)
        w.optional(item.sha512)
        w.bool(item.listed ?? true)
        w.optional(item.annotations)
    }

    /// The items appended since the history was last written whole (`StateRecord.catalogTail`):
    /// a build that appends a few items writes this small record instead of the whole history
    /// (24 MB at 100,000 versions). It names the base it extends; past `foldAt` items the base
    /// is written again.
    static let tailMagic = Array("SHELFCT+".utf8)
    static let foldAt = 4096

    /// What to save: the base (nil when the one on disk is still the base) and the tail.
    public func encodedFiles() -> (base: Data?, tail: Data) {
        var w = CacheWriter()
        if let prefix = encodedPrefix, prefix.count > 0, prefix.count <= items.count,
            items[prefix.count - 1].commitId == prefix.lastCommitId, items.count - prefix.count < Self.foldAt
        {
            w.int(Int64(prefix.count))
            w.string(prefix.lastCommitId)
            w.int(Int64(items.count - prefix.count))
            for item in items[prefix.count...] { Self.encode(item, into: &w) }
            return (nil, Data(Self.tailMagic + w.bytes))
        }
        w.int(Int64(items.count))
        w.string(items.last?.commitId ?? "")
        w.int(0)
        return (encoded(), Data(Self.tailMagic + w.bytes))
    }

    /// The history from the base and, when there is one, the tail.
    public static func decode(_ base: Data, tail: Data?) throws(LoadError) -> CatalogState {
        let (decoded, format) = try decodeBase(base)
        var state = decoded
        guard let tail else { return state }
        let bytes = [UInt8](tail)
        guard bytes.count >= tailMagic.count, Array(bytes.prefix(tailMagic.count)) == tailMagic else {
            throw LoadError.notAHistory(StateRecord.catalogTail.path)
        }
        var r = CacheReader(bytes, offset: tailMagic.count)
        var appended: [CatalogItem] = []
        var baseCount = 0
        var baseLast = ""
        do throws(CacheReader.Damaged) {
            baseCount = Int(try r.int())
            baseLast = try r.string()
            let count = try r.int()
            guard count >= 0, count <= Int64(bytes.count) else { throw CacheReader.Damaged() }
            for _ in 0..<count { appended.append(try Self.decodeItem(&r, format: format)) }
            guard r.atEnd else { throw CacheReader.Damaged() }
        } catch {
            throw LoadError.damaged(StateRecord.catalogTail.path)
        }
        let items = state.items
        guard baseCount >= 0, baseCount <= items.count else {
            throw LoadError.tailDoesNotFollow
        }
        if baseCount == items.count && (items.last?.commitId ?? "") == baseLast {
            var last = items.last?.ticks ?? -1
            for item in appended {
                guard item.ticks > last else {
                    throw LoadError.outOfOrder(StateRecord.catalogTail.path, id: item.id, version: item.version)
                }
                last = item.ticks
            }
            state.items += appended
            return state
        }
        // A build stopped after writing a new base, before its tail: the base has it all.
        if items.count >= baseCount + appended.count, baseCount == 0 || items[baseCount - 1].commitId == baseLast,
            appended.isEmpty || items[baseCount + appended.count - 1].commitId == appended.last!.commitId
        {
            return state
        }
        throw LoadError.tailDoesNotFollow
    }

    /// Why a recorded history (the state records, or the catalog a build wrote) cannot be read.
    public enum LoadError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The record is not a catalog history at all.
        case notAHistory(String)
        /// The record is a history of another format version.
        case otherFormat(String)
        /// The record is cut short or its bytes are damaged.
        case damaged(String)
        /// The record lists commits whose times do not increase.
        case outOfOrder(String, id: String, version: String)
        /// The tail record extends another base than the one there.
        case tailDoesNotFollow
        /// A catalog document of the feed is missing or not JSON.
        case documentUnreadable(String)
        /// A catalog page has an item without its type, id, version, commit or time.
        case itemUnreadable(page: String)
        /// A catalog page links a leaf that is not under `catalog/data/`.
        case leafElsewhere(page: String, leaf: String)

        public var description: String {
            switch self {
            case .notAHistory(let record): return "\(record) is not valid"
            case .otherFormat(let record):
                return "\(record) has another format; this shelf reads format \(CatalogState.formatVersion)"
            case .damaged(let record): return "\(record) is not valid (damaged)"
            case .outOfOrder(let record, let id, let version):
                return "\(record) lists commits out of time order at \(id) \(version)"
            case .tailDoesNotFollow:
                return "\(StateRecord.catalogTail.path) does not follow \(StateRecord.catalog.path)"
            case .documentUnreadable(let path): return "\(path) is missing or not JSON"
            case .itemUnreadable(let page): return "\(page) has an item that cannot be read"
            case .leafElsewhere(let page, let leaf): return "\(page): leaf \(leaf) is not under catalog/data/"
            }
        }
    }

    /// Reads the stored state. Items must be in strictly increasing time order.
    public static func decode(_ data: Data) throws(LoadError) -> CatalogState { try decodeBase(data).state }

    /// The stored state and its format (2 or 3; a tail is in its base's format).
    static func decodeBase(_ data: Data) throws(LoadError) -> (state: CatalogState, format: Int) {
        let bytes = [UInt8](data)
        guard bytes.count >= magic.count, Array(bytes.prefix(magic.count)) == magic else {
            throw LoadError.notAHistory(StateRecord.catalog.path)
        }
        var r = CacheReader(bytes, offset: magic.count)
        var items: [CatalogItem] = []
        var format: Int64 = -1
        do throws(CacheReader.Damaged) { format = try r.int() } catch {}
        guard format == 2 || format == Int64(formatVersion) else {
            throw LoadError.otherFormat(StateRecord.catalog.path)
        }
        do throws(CacheReader.Damaged) {
            let count = try r.int()
            guard count >= 0, count <= Int64(bytes.count) else { throw CacheReader.Damaged() }
            items.reserveCapacity(Int(count))
            for _ in 0..<count { items.append(try Self.decodeItem(&r, format: Int(format))) }
            guard r.atEnd else { throw CacheReader.Damaged() }
        } catch {
            throw LoadError.damaged(StateRecord.catalog.path)
        }
        var last: Int64 = -1
        for item in items {
            guard item.ticks > last else {
                throw LoadError.outOfOrder(StateRecord.catalog.path, id: item.id, version: item.version)
            }
            last = item.ticks
        }
        var state = CatalogState(items: items)
        // Only a base of this format is copied as it is; an older one is written again whole.
        if let last = items.last, format == Int64(formatVersion) {
            state.encodedPrefix = EncodedPrefix(
                file: bytes, start: magic.count + 16, count: items.count, lastCommitId: last.commitId)
        }
        return (state, Int(format))
    }
}

/// One catalog commit: a package version added or changed (`PackageDetails`) or removed
/// (`PackageDelete`).
public struct CatalogItem: Sendable, Equatable {
    public enum Kind: String, Sendable { case details, delete }
    public var kind: Kind
    /// The id as the package wrote it.
    public var id: String
    /// The full version (`1.0.0-beta.1+abc`), as in registration.
    public var version: String
    public var lowerId: String
    public var lowerVersion: String
    /// The commit time, in 100 ns ticks since 1970-01-01 UTC.
    public var ticks: Int64
    public var commitId: String
    /// The package hash (details only), to notice a replaced file.
    public var sha512: String?
    public var listed: Bool?
    /// The version's deprecation and advisories as the leaf records them (details only; "" for
    /// none), to notice a change of either: nuget.org appends a leaf when they change.
    public var annotations: String? = nil

    static func key(_ lowerId: String, _ lowerVersion: String) -> String { lowerId + "/" + lowerVersion }
    var key: String { Self.key(lowerId, lowerVersion) }

    /// The annotations of a version: its deprecation and advisories in the order nuget.org's
    /// catalog writes them ("" when it has neither).
    static func annotations(_ v: PackageVersion) -> String {
        annotations(
            reasons: v.deprecation?.reasons.map(\.rawValue), message: v.deprecation?.message,
            alternate: v.deprecation?.alternateId.map { ($0, v.deprecation?.alternateRange?.normalizedString ?? "*") },
            vulnerabilities: v.vulnerabilities.map { ($0.advisoryURL, String($0.severity.rawValue)) })
    }

    /// The same, from its parts (as a leaf gives them back).
    static func annotations(
        reasons: [String]?, message: String?, alternate: (id: String, range: String)?,
        vulnerabilities: [(url: String, severity: String)]
    ) -> String {
        var lines: [String] = []
        if let reasons {
            lines.append(
                "deprecation|" + Deprecation.Reason.catalogOrder(reasons).joined(separator: ",") + "|" + (message ?? "")
                    + "|" + (alternate.map { "\($0.id)|\($0.range)" } ?? "-"))
        }
        for v in vulnerabilities { lines.append("vulnerability|\(v.url)|\(v.severity)") }
        return lines.joined(separator: "\n")
    }
}

extension Deprecation.Reason {
    /// Reasons in the order nuget.org writes them: its flag values, `Other` (1), `Legacy` (2),
    /// `CriticalBugs` (4) (NuGetGallery `PackageDeprecationStatus`); names it does not know last.
    static func catalogOrder(_ reasons: [String]) -> [String] {
        let rank = ["Other": 0, "Legacy": 1, "CriticalBugs": 2]
        return reasons.enumerated().sorted { (rank[$0.element] ?? 3, $0.offset) < (rank[$1.element] ?? 3, $1.offset) }
            .map(\.element)
    }
}

/// Catalog times: 100 ns ticks since the Unix epoch, written as nuget.org writes them
/// (`2015-02-01T06:22:45.8488496Z`).
public enum CatalogTime {
    public static func ticks(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down)) * 10
    }

    /// The `published` time of an unlisted version, as nuget.org writes it (NuGetGallery
    /// `Constants.UnpublishedDate`): clients read "unlisted" from the year.
    public static let unlisted = "1900-01-01T00:00:00Z"

    public static func string(_ ticks: Int64) -> String {
        var seconds = time_t(ticks / 10_000_000)
        var fraction = ticks % 10_000_000
        if fraction < 0 {
            fraction += 10_000_000
            seconds -= 1
        }
        var out: [UInt8] = []
        out.reserveCapacity(28)
        UTCDateTime.append(UTCDateTime.parts(seconds), to: &out)
        out.append(0x2E)
        UTCDateTime.append(digits: Int(fraction), count: 7, to: &out)
        out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }

    /// A time as nuget.org's catalog leaves have it (Newtonsoft's ISO form of a parsed date): the
    /// fraction's trailing zeros dropped, and the point with them when nothing is left
    /// (`2017-01-04T08:15:00Z`, `2017-11-06T22:06:53.64Z`).
    public static func trimmed(_ ticks: Int64) -> String {
        var s = string(ticks)
        s.removeLast()  // Z
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s + "Z"
    }

    /// The folder name nuget.org gives a commit's leaves (`2015.02.01.06.22.45`), with the ticks
    /// added so that two commits of one version within a second never share a path.
    public static func folder(_ ticks: Int64) -> String {
        // 2015-02-01T06:22:45.8488496Z → 2015.02.01.06.22.45.8488496
        var bytes = Array(string(ticks).utf8.dropLast())
        for i in bytes.indices where bytes[i] == 0x2D || bytes[i] == 0x54 || bytes[i] == 0x3A { bytes[i] = 0x2E }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses `string(_:)`'s form back (for a history read from an existing catalog).
    public static func parse(_ s: String) -> Int64? {
        let scalars = Array(s.utf8)
        guard scalars.count >= 20, scalars.last == UInt8(ascii: "Z") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            Int(String(decoding: scalars[from..<from + count], as: UTF8.self))
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var fraction: Int64 = 0
        if scalars.count > 21, scalars[19] == UInt8(ascii: ".") {
            let digits = String(decoding: scalars[20..<scalars.count - 1], as: UTF8.self)
            guard let f = Int64(digits.padding(toLength: 7, withPad: "0", startingAt: 0).prefix(7)) else { return nil }
            fraction = f
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = Int64(timegm(&parts))
        return seconds * 10_000_000 + fraction
    }
}

extension CatalogState {
    /// Rebuilds the history from a catalog a previous build wrote, when the state file is missing
    /// or damaged: the catalog itself is the record, so the next commits still follow on.
    /// `read` returns a file of the feed folder by relative path.
    public static func reconstruct(read: (String) async -> Data?) async throws(LoadError) -> CatalogState? {
        guard let indexData = await read(CatalogLayout.index) else { return nil }
        func object(_ data: Data?, _ what: String) throws(LoadError) -> [String: Any] {
            guard let data, let value = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw LoadError.documentUnreadable(what)
            }
            return value
        }
        let index = try object(indexData, CatalogLayout.index)
        let pageCount = (index["items"] as? [Any])?.count ?? 0
        var items: [CatalogItem] = []
        for page in 0..<pageCount {
            let path = CatalogLayout.page(page)
            let doc = try object(await read(path), path)
            for case let entry as [String: Any] in doc["items"] as? [Any] ?? [] {
                guard let type = entry["@type"] as? String, let id = entry["nuget:id"] as? String,
                    let version = entry["nuget:version"] as? String, let commitId = entry["commitId"] as? String,
                    let time = (entry["commitTimeStamp"] as? String).flatMap(CatalogTime.parse),
                    let parsed = NuGetVersion(version), let url = entry["@id"] as? String
                else {
                    throw LoadError.itemUnreadable(page: path)
                }
                let kind: CatalogItem.Kind = type.hasSuffix("PackageDelete") ? .delete : .details
                var sha512: String?
                var listed: Bool?
                var annotations: String?
                if kind == .details {
                    guard let range = url.range(of: "catalog/data/", options: .backwards) else {
                        throw LoadError.leafElsewhere(page: path, leaf: url)
                    }
                    let leafPath = "catalog/data/" + url[range.upperBound...]
                    let leaf = try object(await read(leafPath), leafPath)
                    sha512 = leaf["packageHash"] as? String
                    listed = leaf["listed"] as? Bool ?? true
                    let deprecation = leaf["deprecation"] as? [String: Any]
                    let alternate = deprecation?["alternatePackage"] as? [String: Any]
                    annotations = CatalogItem.annotations(
                        reasons: deprecation.map { ($0["reasons"] as? [String]) ?? [] },
                        message: deprecation?["message"] as? String,
                        alternate: (alternate?["id"] as? String).map { ($0, alternate?["range"] as? String ?? "*") },
                        vulnerabilities: ((leaf["vulnerabilities"] as? [[String: Any]]) ?? []).map {
                            (($0["advisoryUrl"] as? String) ?? "", ($0["severity"] as? String) ?? "")
                        })
                }
                items.append(
                    CatalogItem(
                        kind: kind, id: id, version: version, lowerId: id.lowercased(),
                        lowerVersion: parsed.pathSegment, ticks: time, commitId: commitId, sha512: sha512,
                        listed: listed, annotations: annotations))
            }
        }
        items.sort { $0.ticks < $1.ticks }
        return CatalogState(items: items)
    }
}
