import Foundation
import NuGetCore
import ShelfFeed

/// The parameters of a search or autocomplete request, read the way nuget.org reads them.
public struct SearchParameters: Sendable, Equatable {
    public var q = ""
    public var skip = 0
    public var take = 20
    public var prerelease = false
    /// `semVerLevel=2.0.0` (or higher): SemVer 2.0.0 versions are included.
    public var semVer2 = false
    public var packageType: String?
    /// Autocomplete's `id`: list the versions of this id instead of ids.
    public var id: String?

    /// nuget.org's limits: a `take` outside 0...1000 becomes 20, a negative `skip` 0, and a
    /// `skip` past 3,000 gives an empty page (NuGetGallery `SearchParametersBuilder.ApplyPaging`,
    /// `IndexOperationBuilder.HasInvalidParameters`).
    public static let maxTake = 1000
    public static let maxSkip = 3000
    public static let defaultTake = 20

    public init() {}

    /// Parses the query items as nuget.org binds them: names case-insensitive, an empty value is
    /// the default, a value that is not a number or a boolean is refused (400 Bad Request).
    /// The client's own extras (`packageTypeFilter`, `supportedFramework`, `includeDelisted`) are
    /// ignored there, and here.
    public static func parse(_ items: [(String, String)]) -> Result<SearchParameters, ServeError> {
        var p = SearchParameters()
        var sawQ = false
        for (rawName, rawValue) in items {
            let value = rawValue.trimmingCharacters(in: .whitespaces)
            switch rawName.lowercased() {
            case "q":
                p.q = rawValue
                sawQ = true
            case "skip":
                if value.isEmpty { continue }
                guard let n = Int(value) else {
                    return .failure(.badParameter(name: "skip", value: value, expected: "a whole number"))
                }
                p.skip = max(0, n)
            case "take":
                if value.isEmpty { continue }
                guard let n = Int(value) else {
                    return .failure(.badParameter(name: "take", value: value, expected: "a whole number"))
                }
                p.take = (0...maxTake).contains(n) ? n : defaultTake
            case "prerelease":
                if value.isEmpty { continue }
                switch value.lowercased() {
                case "true": p.prerelease = true
                case "false": p.prerelease = false
                default: return .failure(.badParameter(name: "prerelease", value: value, expected: "true or false"))
                }
            case "semverlevel":
                // ParameterUtilities.ParseIncludeSemVer2: any version at least 2.0.0.
                if let v = NuGetVersion(value) { p.semVer2 = v.major >= 2 }
            case "packagetype": p.packageType = value.isEmpty ? nil : value.lowercased()
            case "id": p.id = value
            default: continue
            }
        }
        // Autocomplete lists versions only when `id` is given and `q` is not.
        if sawQ { p.versionsOf = nil } else { p.versionsOf = p.id }
        return .success(p)
    }

    /// Autocomplete's version mode: the id whose versions to list.
    public var versionsOf: String?
}

extension SearchIndex {
    /// The versions a request sees: listed, stable unless `prerelease`, SemVer 1.0.0 unless `semVer2`.
    func visible(_ p: Package, _ params: SearchParameters) -> [Version] {
        p.versions.filter {
            $0.listed && (params.prerelease || !$0.version.isPrerelease) && (params.semVer2 || !$0.semVer2Only)
        }
    }

    /// The ids a request can see, with their visible versions: at least one, and (with
    /// `packageType`) the latest of them of that type, or `Dependency` when it declares none.
    func candidates(_ params: SearchParameters) -> [(Package, [Version])] {
        packages.compactMap { p in
            let versions = visible(p, params)
            guard let latest = versions.last else { return nil }
            if let type = params.packageType, !latest.packageTypes.contains(where: { $0.lowercased() == type }) {
                return nil
            }
            return (p, versions)
        }
    }

    /// A search response (`SearchQueryService`): `totalHits` and one page of hits, best first.
    public func search(_ params: SearchParameters, servingBaseURL: String) -> JSON {
        let query = SearchTextQuery(params.q)
        var hits: [(score: Int, published: String, package: Package, versions: [Version])] = []
        if params.skip <= SearchParameters.maxSkip {
            for (p, versions) in candidates(params) {
                guard let score = query.score(p, versions.last!) else { continue }
                hits.append((score, versions.map(\.published).max() ?? "", p, versions))
            }
        }
        hits.sort { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.published != b.published { return a.published > b.published }
            return a.package.lowerId.utf8.lexicographicallyPrecedes(b.package.lowerId.utf8)
        }
        // nuget.org links the hive the client can read: SemVer 2.0.0 only when it asked for it.
        let hive = params.semVer2 ? FeedLayout.registrationSemVer2 : FeedLayout.registrationSemVer1
        let layout = FeedLayout(baseURL: servingBaseURL)
        let page = hits.dropFirst(params.skip).prefix(params.take)
        return .object([
            "@context": .object([
                "@vocab": "http://schema.nuget.org/schema#",
                "@base": .string(layout.url(hive)),
            ]),
            "totalHits": .int(hits.count),
            "data": .array(page.map { hit($0.package, $0.versions, hive: hive, layout: layout) }),
        ])
    }

    /// One hit (`SearchHit`, the static search's shape): the latest visible version's metadata,
    /// from its registration entry, and every visible version, oldest first.
    func hit(_ p: Package, _ versions: [Version], hive: String, layout: FeedLayout) -> JSON {
        let shown = versions.last!
        let entry = JSON.object(shown.entry)
        return SearchHit(
            registration: layout.url(FeedLayout.registrationIndex(hive, p.lowerId)), id: p.id,
            version: shown.version.fullString, description: entry.string("description"),
            summary: entry.string("summary"), title: entry.string("title"), iconUrl: entry.string("iconUrl"),
            licenseUrl: entry.string("licenseUrl"), projectUrl: entry.string("projectUrl"), tags: Self.tags(entry),
            authors: entry.string("authors"), owners: p.owners, verified: p.verified, packageTypes: shown.packageTypes,
            versions: versions.map { v in
                let leaf = layout.url(FeedLayout.registrationLeaf(hive, p.lowerId, v.version.pathSegment))
                return .object([
                    JSON.Member("version", .string(v.version.fullString)),
                    JSON.Member("downloads", .int(0)),
                    JSON.Member("@id", .string(leaf)),
                ])
            },
            deprecation: entry.member("deprecation").map(Self.deprecation),
            vulnerabilities: Self.vulnerabilities(entry.member("vulnerabilities"))
        ).json
    }

    /// The registration entry's tags (nuget.org writes `[""]` for a package without tags).
    static func tags(_ entry: JSON) -> [String] {
        switch entry.member("tags") {
        case .array(let list)?: return list.compactMap(\.stringValue).filter { !$0.isEmpty }
        case .string(let s)?: return s.split(separator: " ").map(String.init)
        default: return []
        }
    }

    /// The registration entry's `deprecation`, read back.
    static func deprecation(_ d: JSON) -> SearchHit.Deprecation {
        let reasons: [String]
        if case .array(let list)? = d.member("reasons") {
            reasons = list.compactMap(\.stringValue)
        } else {
            reasons = []
        }
        let alternate = d.member("alternatePackage").flatMap { a in
            a.string("id").map { ($0, a.string("range") ?? "*") }
        }
        return SearchHit.Deprecation(reasons: reasons, message: d.string("message"), alternate: alternate)
    }

    /// The registration entry's `vulnerabilities` (severity a string there), read back.
    static func vulnerabilities(_ v: JSON?) -> [(advisoryUrl: String, severity: Int)] {
        guard case .array(let list)? = v else { return [] }
        return list.compactMap { item in
            guard let url = item.string("advisoryUrl"), let severity = item.string("severity").flatMap({ Int($0) })
            else { return nil }
            return (url, severity)
        }
    }

    /// An autocomplete response (`SearchAutocompleteService`): ids matching `q`, or, with `id` and
    /// no `q`, the visible versions of that id (oldest first; `skip` and `take` do not apply, and
    /// `totalHits` counts the id, as nuget.org does).
    public func autocomplete(_ params: SearchParameters) -> JSON {
        let context = JSON.object(["@vocab": "http://schema.nuget.org/schema#"])
        if let id = params.versionsOf {
            let lower = id.lowercased()
            let versions = packages.first { $0.lowerId == lower }.map { visible($0, params) } ?? []
            return .object([
                "@context": context, "totalHits": .int(versions.isEmpty ? 0 : 1),
                "data": .array(
                    versions.map { .string(params.semVer2 ? $0.version.fullString : $0.version.normalizedString) }),
            ])
        }
        // Every `.`, `-` or `_` separated piece of q must start one of the id's words.
        let q = params.q.trimmingCharacters(in: .whitespaces).lowercased()
        let pieces = SearchTextQuery.words(q)
        var matches: [(rank: Int, published: String, id: String)] = []
        if params.skip <= 100_000 {
            for (p, versions) in candidates(params) {
                var rank = 0
                if !q.isEmpty {
                    let words = SearchTextQuery.words(p.id)
                    guard pieces.allSatisfy({ piece in words.contains { $0.hasPrefix(piece) } }) else { continue }
                    rank = p.lowerId == q ? 3 : p.lowerId.hasPrefix(q) ? 2 : 1
                }
                matches.append((rank, versions.map(\.published).max() ?? "", p.id))
            }
        }
        matches.sort { a, b in
            if a.rank != b.rank { return a.rank > b.rank }
            if a.published != b.published { return a.published > b.published }
            return a.id.lowercased().utf8.lexicographicallyPrecedes(b.id.lowercased().utf8)
        }
        return .object([
            "@context": context, "totalHits": .int(matches.count),
            "data": .array(matches.dropFirst(params.skip).prefix(params.take).map { .string($0.id) }),
        ])
    }
}

/// The `q` of a search, read the way nuget.org's `NuGetQueryParser` and `SearchTextBuilder` read
/// it:
/// - `field:value` scopes a term to `id`, `packageid` (the whole id), `version`, `title`,
///   `description`, `tag`/`tags`, `author`/`authors`, `summary` or `owner`/`owners` (a whole
///   owner name). Unknown fields are dropped; `"..."` keeps a phrase together.
/// - A free term is split into words, and every word must match a word of the id, title, tags,
///   authors, owners, summary or description; the query's last word may also be a prefix.
/// - Several values of one field: any of them; different fields: all of them.
/// - Ranking (no download counts here): the exact id first, then ids that start with the query,
///   then ids whose words match, then matches elsewhere; newer packages first among equals.
struct SearchTextQuery {
    enum Field: String { case id, packageid, version, title, description, tags, author, summary, owner }

    var free: [String] = []
    var scoped: [Field: [String]] = [:]
    /// The whole query, for the exact-id and id-prefix boosts.
    var whole: String

    static let aliases: [String: Field] = [
        "id": .id, "packageid": .packageid, "version": .version, "title": .title, "description": .description,
        "tag": .tags, "tags": .tags, "author": .author, "authors": .author, "summary": .summary, "owner": .owner,
        "owners": .owner,
    ]

    init(_ q: String) {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        for c in q {
            if c == "\"" {
                quoted.toggle()
            } else if c.isWhitespace && !quoted {
                if !current.isEmpty { tokens.append(current) }
                current = ""
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        var freeText: [String] = []
        for token in tokens {
            if let colon = token.firstIndex(of: ":"), colon != token.startIndex {
                guard let field = Self.aliases[token[..<colon].lowercased()] else { continue }
                let value = token[token.index(after: colon)...].lowercased()
                if !value.isEmpty { scoped[field, default: []].append(value) }
            } else if !["and", "or", "not"].contains(token.lowercased()) {
                freeText.append(token.lowercased())
                free += Self.words(token)
            }
        }
        whole = freeText.joined(separator: " ")
    }

    /// The words of a text: split at anything but letters and digits, at a lower-to-upper case
    /// change and between letters and digits, lowercased; the unsplit pieces are words too, so
    /// that `JsonNet` matches both `jsonnet` and `json net`.
    static func words(_ text: String) -> [String] {
        var out: [String] = []
        for piece in text.split(whereSeparator: { !($0.isLetter || $0.isNumber) }) {
            out.append(piece.lowercased())
            var word = ""
            var previous: Character?
            for c in piece {
                if let p = previous,
                    (p.isLowercase && c.isUppercase) || (p.isLetter && c.isNumber) || (p.isNumber && c.isLetter)
                {
                    out.append(word.lowercased())
                    word = ""
                }
                word.append(c)
                previous = c
            }
            if word.count < piece.count { out.append(word.lowercased()) }
        }
        return out
    }

    /// nil when the package does not match; otherwise its relevance.
    func score(_ p: SearchIndex.Package, _ latest: SearchIndex.Version) -> Int? {
        if free.isEmpty && scoped.isEmpty { return 0 }
        let entry = JSON.object(latest.entry)
        let idWords = Set(Self.words(p.id))
        let titleText = entry.string("title") ?? ""
        let tags = SearchIndex.tags(entry)
        let fields: [Field: [String]] = [
            .title: Self.words(titleText),
            .tags: tags.flatMap(Self.words),
            .author: Self.words(entry.string("authors") ?? ""),
            .summary: Self.words(entry.string("summary") ?? ""),
            .description: Self.words(entry.string("description") ?? ""),
        ]
        let ownerWords = p.owners.flatMap(Self.words)
        var score = 0

        // Scoped terms: each field needs one of its values.
        for (field, values) in scoped {
            let hit: Bool
            switch field {
            case .packageid: hit = values.contains(p.lowerId)
            case .owner: hit = values.contains { v in p.owners.contains { $0.lowercased() == v } }
            case .id:
                hit = values.contains { v in v == p.lowerId || Self.words(v).allSatisfy(idWords.contains) }
            case .version:
                hit = values.contains { v in
                    guard let wanted = NuGetVersion(v) else { return false }
                    return p.versions.contains { $0.version == wanted }
                }
            case .title, .tags, .author, .summary, .description:
                let words = Set(fields[field] ?? [])
                hit = values.contains { v in Self.words(v).allSatisfy(words.contains) }
            }
            guard hit else { return nil }
            score += field == .packageid || field == .id ? 100 : 10
        }

        // Free words: every one must match some field; the last may be a prefix.
        let everything = idWords.union(fields.values.joined()).union(ownerWords)
        for (i, word) in free.enumerated() {
            let last = i == free.count - 1
            if idWords.contains(word) {
                score += 20
            } else if everything.contains(word) {
                score += (fields[.title] ?? []).contains(word) || (fields[.tags] ?? []).contains(word) ? 5 : 2
            } else if last && everything.contains(where: { $0.hasPrefix(word) }) {
                score += idWords.contains(where: { $0.hasPrefix(word) }) ? 10 : 1
            } else {
                return nil
            }
        }
        if !whole.isEmpty {
            if p.lowerId == whole {
                score += 100_000
            } else if p.lowerId.hasPrefix(whole) {
                score += 10_000
            }
        }
        return score
    }
}
