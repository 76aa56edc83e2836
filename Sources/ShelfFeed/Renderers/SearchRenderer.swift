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

    private func hit(_ r: PackageRegistration, _ versions: [PackageVersion]) -> JSON {
        let shown = Self.latest(versions)!
        let n = shown.nuspec
        let hive = RegistrationRenderer(layout: layout, hive: .semVer2)
        let entry = hive.catalogEntry(shown, lid: r.lowerId)
        func field(_ key: String) -> JSON? {
            if case .object(let members) = entry { return members.first { $0.key == key }?.value }
            return nil
        }
        let owners = r.owners
        let authors = (n.authors ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let typeNames = n.packageTypes.isEmpty ? ["Dependency"] : n.packageTypes.map(\.name)
        let packageTypes: [JSON] = typeNames.map { .object([JSON.Member("name", .string($0))]) }
        let registration = JSON.string(
            layout.url(FeedLayout.registrationIndex(FeedLayout.registrationSemVer2, r.lowerId)))
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
        let members: [JSON.Member] = [
            .init("@id", registration),
            .init("@type", "Package"),
            .init("registration", registration),
            .init("id", .string(r.id)),
            .init("version", .string(n.version.fullString)),
            .init("description", .string(n.description ?? "")),
            .init("summary", .string(n.summary ?? "")),
            .init("title", .string(n.title ?? "")),
            .init("iconUrl", field("iconUrl") ?? ""),
            .init("licenseUrl", field("licenseUrl") ?? ""),
            .init("projectUrl", .string(n.projectUrl ?? "")),
            .init("tags", .array(n.tags.map(JSON.string))),
            .init("authors", .array(authors.map(JSON.string))),
            .init("owners", .array(owners.map(JSON.string))),
            .init("totalDownloads", .int(0)),
            .init("verified", .bool(r.verified)),
            .init("packageTypes", .array(packageTypes)),
            .init("versions", .array(versionList)),
        ]
        var all = members
        if let d = field("deprecation") { all.append(.init("deprecation", d)) }
        if let v = field("vulnerabilities") { all.append(.init("vulnerabilities", v)) }
        return .object(all)
    }
}
