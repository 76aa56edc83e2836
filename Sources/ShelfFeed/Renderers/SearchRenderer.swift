import Foundation
import NuGetCore

/// Renders the static search (`SearchQueryService`) and autocomplete
/// (`SearchAutocompleteService`) documents.
///
/// A static host ignores the query string, so every query (`q`, `skip`, `take`, `prerelease`)
/// gets the same document. What it holds is chosen so that every client behaves sensibly:
///
/// - `owners` and `verified` come from the policy (a reserved ID prefix); the shown version's
///   `deprecation` and `vulnerabilities` are included when it has them.
/// - Listed packages only, one hit per id, the ids most recently published first (then by id).
/// - The hit's `version` is the latest listed stable version, or the latest prerelease for an id
///   that has no stable one; `versions[]` lists every listed version, oldest first, each with its
///   registration leaf (`@id`) and its `.nupkg` (`packageContent`).
/// - At most 25 hits, and `totalHits` equal to the number of hits. Visual Studio asks for
///   `take=26` and keeps asking for the next page as long as it gets more than 25 items
///   (NuGet.Client `SourceRepositoryExtensions.SearchAsync`, page size 25 in
///   `MultiSourcePackageFeed`); since the next page would be this same document, more than 25 hits
///   would make it load the same packages again and again (and `GetAllPackagesAsync` would never
///   end). Tools that page by `totalHits` stop after one page for the same reason.
///
/// A feed with more ids is still complete in the package site's search and in `shelf serve`,
/// which answers real queries at the same URL.
public struct SearchRenderer: Sendable {
    public let layout: FeedLayout
    /// The hit limit that keeps Visual Studio's paged browse from looping (see above).
    public static let staticHitLimit = 25

    public static let queryPath = "search/query.json"
    public static let autocompletePath = "search/autocomplete.json"
    /// Each id's owners and verified mark (from the policy): the one thing search shows that the
    /// registration documents do not carry, so that `shelf serve` answers from the feed alone.
    public static let ownersPath = "search/owners.json"

    public init(layout: FeedLayout) { self.layout = layout }

    /// The ids the static search shows (see above), most recently published first.
    public static func shownIds(_ digests: [IdDigest]) -> [String] {
        IdDigest.ranked(digests, limit: staticHitLimit)
    }

    /// The search, autocomplete and owners documents, from every id's digest (in id order) and
    /// the registrations of the ids search shows (`shownIds`).
    public func render(_ digests: [IdDigest], shown: [String: PackageRegistration]) -> [FeedDocument] {
        let hits = Self.shownIds(digests).compactMap { id -> JSON? in
            guard let r = shown[id] else { return nil }
            return hit(r, r.versions.filter(\.listed))
        }
        let query: JSON = .object([
            "@context": .object([
                "@vocab": "http://schema.nuget.org/schema#",
                "@base": .string(layout.url(FeedLayout.registrationSemVer2)),
            ]),
            "totalHits": .int(hits.count),
            "data": .array(hits),
        ])
        // Autocomplete has no paging loop to fear: every listed id, in id order.
        let ids = digests.filter { $0.newestListed != nil }.map(\.id)
        let autocomplete: JSON = .object([
            "@context": .object(["@vocab": "http://schema.nuget.org/schema#"]),
            "totalHits": .int(ids.count),
            "data": .array(ids.map(JSON.string)),
        ])
        let owners: [JSON] = digests.filter { !$0.owners.isEmpty || $0.verified }.map { d in
            .object([
                JSON.Member("id", .string(d.id)), JSON.Member("owners", .array(d.owners.map(JSON.string))),
                JSON.Member("verified", .bool(d.verified)),
            ])
        }
        return [
            .json(Self.queryPath, query, phase: .indexes),
            .json(Self.autocompletePath, autocomplete, phase: .indexes),
            .json(Self.ownersPath, .object([JSON.Member("data", .array(owners))]), phase: .indexes),
        ]
    }

    /// The version a listing shows: the latest stable, else the latest prerelease.
    public static func latest(_ versions: [PackageVersion]) -> PackageVersion? {
        versions.last { !$0.version.isPrerelease } ?? versions.last
    }

    /// One id's hit: the latest version's metadata and every version shown, each with Shelf's
    /// `packageContent`.
    private func hit(_ r: PackageRegistration, _ versions: [PackageVersion]) -> JSON {
        let shown = Self.latest(versions)!
        let n = shown.nuspec
        let versionList: [JSON] = versions.map { v in
            let leaf = layout.url(
                FeedLayout.registrationLeaf(FeedLayout.registrationSemVer2, r.lowerId, v.lowerVersion))
            return .object([
                JSON.Member("version", .string(v.version.fullString)),
                JSON.Member("downloads", .int(0)),
                JSON.Member("@id", .string(leaf)),
                JSON.Member("packageContent", .string(layout.url(FeedLayout.nupkg(r.lowerId, v.lowerVersion)))),
            ])
        }
        return SearchHit(
            registration: layout.url(FeedLayout.registrationIndex(FeedLayout.registrationSemVer2, r.lowerId)),
            id: r.id, version: n.version.fullString, description: n.description, summary: n.summary, title: n.title,
            iconUrl: RegistrationRenderer.iconURL(shown, lid: r.lowerId, layout: layout),
            licenseUrl: RegistrationRenderer.licenseURL(shown, lid: r.lowerId, layout: layout),
            projectUrl: n.projectUrl, tags: n.tags, authors: n.authors, owners: r.owners, verified: r.verified,
            packageTypes: n.packageTypes.map(\.name), versions: versionList,
            deprecation: shown.deprecation.map { d in
                SearchHit.Deprecation(
                    reasons: Deprecation.Reason.catalogOrder(d.reasons.map(\.rawValue)), message: d.message,
                    alternate: d.alternateId.map { ($0, d.alternateRange?.normalizedString ?? "*") })
            },
            vulnerabilities: shown.vulnerabilities.map { ($0.advisoryURL, $0.severity.rawValue) }
        ).json
    }
}

/// A search hit as nuget.org's search writes one (NuGetGallery `NuGet.Services.AzureSearch`
/// `SearchResponseBuilder`), for the static search and `shelf serve`'s alike: the title, or the id
/// when it has none; the authors as one string (`[""]` when there are none); `packageTypes` with
/// exact repeats dropped (`Dependency` when the package names none); URLs left out when there are
/// none; `deprecation` without the catalog's ids; `vulnerabilities` always, severity a number.
public struct SearchHit: Sendable {
    public struct Deprecation: Sendable {
        public var reasons: [String]
        public var message: String?
        /// The alternate package's id and range.
        public var alternate: (id: String, range: String)?

        public init(reasons: [String], message: String?, alternate: (id: String, range: String)?) {
            self.reasons = reasons
            self.message = message
            self.alternate = alternate
        }
    }

    public var registration: String
    public var id: String
    public var version: String
    public var description: String?
    public var summary: String?
    public var title: String?
    public var iconUrl: String?
    public var licenseUrl: String?
    public var projectUrl: String?
    public var tags: [String]
    public var authors: String?
    public var owners: [String]
    public var verified: Bool
    public var packageTypes: [String]
    /// Each version shown, as the caller writes it.
    public var versions: [JSON]
    public var deprecation: Deprecation?
    public var vulnerabilities: [(advisoryUrl: String, severity: Int)]

    public init(
        registration: String, id: String, version: String, description: String?, summary: String?, title: String?,
        iconUrl: String?, licenseUrl: String?, projectUrl: String?, tags: [String], authors: String?,
        owners: [String], verified: Bool, packageTypes: [String], versions: [JSON], deprecation: Deprecation?,
        vulnerabilities: [(advisoryUrl: String, severity: Int)]
    ) {
        self.registration = registration
        self.id = id
        self.version = version
        self.description = description
        self.summary = summary
        self.title = title
        self.iconUrl = iconUrl
        self.licenseUrl = licenseUrl
        self.projectUrl = projectUrl
        self.tags = tags
        self.authors = authors
        self.owners = owners
        self.verified = verified
        self.packageTypes = packageTypes
        self.versions = versions
        self.deprecation = deprecation
        self.vulnerabilities = vulnerabilities
    }

    public var json: JSON {
        func url(_ s: String?) -> JSON? { s.flatMap { $0.isEmpty ? nil : .string($0) } }
        var seen = Set<String>()
        let types = (packageTypes.isEmpty ? ["Dependency"] : packageTypes).filter { seen.insert($0).inserted }
        let shownTitle = (title ?? "").trimmingCharacters(in: .whitespaces).isEmpty ? id : title!
        return .object([
            "@id": .string(registration),
            "@type": "Package",
            "registration": .string(registration),
            "id": .string(id),
            "version": .string(version),
            "description": .string(description ?? ""),
            "summary": .string(summary ?? ""),
            "title": .string(shownTitle),
            "iconUrl": url(iconUrl),
            "licenseUrl": url(licenseUrl),
            "projectUrl": url(projectUrl),
            "tags": .array(tags.filter { !$0.isEmpty }.map(JSON.string)),
            "authors": .array([.string(authors ?? "")]),
            "owners": .array(owners.map(JSON.string)),
            "totalDownloads": .int(0),
            "verified": .bool(verified),
            "packageTypes": .array(types.map { .object([JSON.Member("name", .string($0))]) }),
            "versions": .array(versions),
            "deprecation": deprecation.map { d in
                .object([
                    "alternatePackage": d.alternate.map {
                        .object(["id": .string($0.id), "range": .string($0.range)])
                    },
                    "message": d.message.json,
                    "reasons": .array(d.reasons.map(JSON.string)),
                ])
            },
            "vulnerabilities": .array(
                vulnerabilities.map {
                    .object(["advisoryUrl": .string($0.advisoryUrl), "severity": .int($0.severity)])
                }
            ),
        ])
    }
}
