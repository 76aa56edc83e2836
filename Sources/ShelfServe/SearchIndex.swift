import Foundation
import NuGetCore
import ShelfFeed

/// Real search over a built feed, read from the feed's own documents: both registration hives
/// (every version's metadata, and which versions SemVer 1.0.0 clients see) and
/// `search/owners.json` (owners and the verified mark). Nothing else is needed, so any feed Shelf
/// wrote can be served, also one copied from elsewhere without its `.shelf/` record.
public struct SearchIndex: Sendable {
    struct Version: Sendable {
        var version: NuGetVersion
        var listed: Bool
        var published: String
        /// In the SemVer 2.0.0 hive only (the version, or one of its dependency ranges, is SemVer 2.0.0).
        var semVer2Only: Bool
        /// The registration leaf's `catalogEntry` members, as the feed wrote them.
        var entry: [JSON.Member]
        var packageTypes: [String]
    }

    struct Package: Sendable {
        var id: String
        var lowerId: String
        /// Ascending, by NuGet's version order.
        var versions: [Version]
        var owners: [String] = []
        var verified = false
        var inSemVer1Hive: Bool
    }

    var packages: [Package]
    /// The base URL the feed's documents were written for (their links start with it).
    public let feedBaseURL: String
    public var idCount: Int { packages.count }

    /// Reads the feed in `root` (an output folder of `shelf build`).
    public init(root: String) throws {
        let files = FeedFileReader(root: root)
        guard let serviceIndex = try? files.json("index.json") else {
            throw ServeError.notAFeed(root: root)
        }
        feedBaseURL = Self.baseURL(serviceIndex) ?? "/"

        var semVer1: [String: Set<String>] = [:]  // lower id -> lower normalized versions
        for lowerId in files.folders(FeedLayout.registrationSemVer1) {
            semVer1[lowerId] = Set(
                files.leaves(hive: FeedLayout.registrationSemVer1, lowerId: lowerId).compactMap {
                    $0.string("version").flatMap(NuGetVersion.init)?.pathSegment
                })
        }
        var packages: [Package] = []
        for lowerId in files.folders(FeedLayout.registrationSemVer2) {
            var versions: [Version] = []
            var id = lowerId
            for leaf in files.leaves(hive: FeedLayout.registrationSemVer2, lowerId: lowerId) {
                guard let text = leaf.string("version"), let version = NuGetVersion(text) else { continue }
                id = leaf.string("id") ?? id
                let types: [String]
                if case .array(let list)? = leaf.member("packageTypes") {
                    types = list.compactMap { $0.string("name") }
                } else {
                    types = []
                }
                versions.append(
                    Version(
                        version: version, listed: leaf.member("listed") != .bool(false),
                        published: leaf.string("published") ?? "",
                        semVer2Only: !(semVer1[lowerId]?.contains(version.pathSegment) ?? false),
                        entry: leaf.members, packageTypes: types.isEmpty ? ["Dependency"] : types))
            }
            guard !versions.isEmpty else { continue }
            versions.sort { $0.version < $1.version }
            packages.append(
                Package(id: id, lowerId: lowerId, versions: versions, inSemVer1Hive: semVer1[lowerId] != nil))
        }
        if case .array(let rows)? = (try? files.json(SearchRenderer.ownersPath))?.member("data") {
            var byId: [String: (owners: [String], verified: Bool)] = [:]
            for row in rows {
                guard let id = row.string("id") else { continue }
                let owners: [String]
                if case .array(let list)? = row.member("owners") {
                    owners = list.compactMap(\.stringValue)
                } else {
                    owners = []
                }
                byId[id.lowercased()] = (owners, row.member("verified") == .bool(true))
            }
            for i in packages.indices {
                if let o = byId[packages[i].lowerId] {
                    packages[i].owners = o.owners
                    packages[i].verified = o.verified
                }
            }
        }
        self.packages = packages
    }

    /// The feed's base URL: its flat container's URL, less `flatcontainer/`.
    static func baseURL(_ serviceIndex: JSON) -> String? {
        guard case .array(let resources)? = serviceIndex.member("resources") else { return nil }
        for r in resources where r.string("@type") == "PackageBaseAddress/3.0.0" {
            if let url = r.string("@id"), url.hasSuffix(FeedLayout.flatContainer) {
                return String(url.dropLast(FeedLayout.flatContainer.count))
            }
        }
        return nil
    }
}

/// Reads the feed's JSON documents, gzip-stored or plain.
struct FeedFileReader {
    let root: String

    func data(_ path: String) -> Data? {
        guard let data = FileManager.default.contents(atPath: root + "/" + path) else { return nil }
        if data.starts(with: [0x1f, 0x8b]) { return Gzip.decompress(data) }
        return data
    }

    func json(_ path: String) throws -> JSON {
        guard let data = data(path) else { throw ServeError.documentMissing(path) }
        return try JSON(PositionedJSON.parse(data))
    }

    /// The id folders of a hive.
    func folders(_ hive: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + hive)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Every `catalogEntry` of an id in a hive, from the pages inlined in its index or from the
    /// page documents it links.
    func leaves(hive: String, lowerId: String) -> [JSON] {
        guard let index = try? json(FeedLayout.registrationIndex(hive, lowerId)),
            case .array(let pages)? = index.member("items")
        else { return [] }
        var out: [JSON] = []
        for page in pages {
            var items = page.member("items")
            if items == nil, let url = page.string("@id"), let marker = url.range(of: "/\(hive)\(lowerId)/") {
                let path = hive + lowerId + "/" + url[marker.upperBound...]
                items = (try? json(path))?.member("items")
            }
            guard case .array(let leaves)? = items else { continue }
            for leaf in leaves {
                if let entry = leaf.member("catalogEntry") { out.append(entry) }
            }
        }
        return out
    }
}

/// Why `shelf serve` cannot start, or cannot answer a request.
public enum ServeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The folder to serve is not there.
    case noSuchFolder(String)
    /// The folder has no readable service index.
    case notAFeed(root: String)
    /// A document the service index names is missing.
    case documentMissing(String)
    /// The server started but did not say which port it listens on.
    case noPort
    /// A search parameter that is not of its kind (`skip`, `take`: whole numbers; `prerelease`:
    /// true or false).
    case badParameter(name: String, value: String, expected: String)

    public var description: String {
        switch self {
        case .noSuchFolder(let root): return "\(root): no such folder"
        case .notAFeed(let root):
            return "\(root)/index.json is missing or unreadable: is this a folder `shelf build` wrote?"
        case .documentMissing(let path): return "\(path) is missing"
        case .noPort: return "the server did not report its port"
        case .badParameter(let name, let value, let expected): return "\(name) must be \(expected), not \(value)"
        }
    }
}

extension JSON {
    /// The ordered JSON of a parsed document (numbers that are whole stay integers).
    init(_ p: PositionedJSON) {
        switch p {
        case .object(let members, _): self = .object(members.map { Member($0.key, JSON($0.value)) })
        case .array(let items, _): self = .array(items.map(JSON.init))
        case .string(let s, _): self = .string(s)
        case .number(let n, _): self = n.rounded() == n && abs(n) < 1e15 ? .int(Int(n)) : .string(String(n))
        case .bool(let b, _): self = .bool(b)
        case .null: self = .null
        }
    }

    func member(_ key: String) -> JSON? {
        if case .object(let members) = self { return members.first { $0.key == key }?.value }
        return nil
    }

    var members: [Member] {
        if case .object(let members) = self { return members }
        return []
    }

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    func string(_ key: String) -> String? { member(key)?.stringValue }
}
