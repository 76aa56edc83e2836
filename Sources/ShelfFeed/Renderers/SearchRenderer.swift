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

    /// A search hit as nuget.org's search writes one (NuGetGallery `NuGet.Services.AzureSearch`
    /// `SearchResponseBuilder`): the title, or the id when there is none; the authors as one
    /// string; `packageTypes` from the nuspec (`Dependency` when it names none); `vulnerabilities`
    /// always, severity a number; `deprecation` without ids. Shelf adds each version's
    /// `packageContent`.
    private func hit(_ r: PackageRegistration, _ versions: [PackageVersion]) -> JSON {
        let shown = Self.latest(versions)!
        let n = shown.nuspec
        let typeNames = n.packageTypes.isEmpty ? ["Dependency"] : n.packageTypes.map(\.name)
        var seenTypes = Set<String>()
        let packageTypes: [JSON] = typeNames.filter { seenTypes.insert($0).inserted }.map {
            .object([JSON.Member("name", .string($0))])
        }
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
        let title = (n.title ?? "").trimmingCharacters(in: .whitespaces).isEmpty ? n.id : n.title!
        let deprecation: JSON? = shown.deprecation.map { d in
            .object([
                "alternatePackage": d.alternateId.map { id in
                    .object(["id": .string(id), "range": .string(d.alternateRange?.normalizedString ?? "*")])
                },
                "message": d.message.json,
                "reasons": .array(Deprecation.Reason.catalogOrder(d.reasons.map(\.rawValue)).map(JSON.string)),
            ])
        }
        return .object([
            "@id": registration,
            "@type": "Package",
            "registration": registration,
            "id": .string(r.id),
            "version": .string(n.version.fullString),
            "description": .string(n.description ?? ""),
            "summary": .string(n.summary ?? ""),
            "title": .string(title),
            "iconUrl": RegistrationRenderer.iconURL(shown, lid: r.lowerId, layout: layout).json,
            "licenseUrl": RegistrationRenderer.licenseURL(shown, lid: r.lowerId, layout: layout).json,
            "projectUrl": n.projectUrl.json,
            "tags": .array(n.tags.map(JSON.string)),
            "authors": .array(n.authors.map { [.string($0)] } ?? []),
            "owners": .array(r.owners.map(JSON.string)),
            "totalDownloads": .int(0),
            "verified": .bool(r.verified),
            "packageTypes": .array(packageTypes),
            "versions": .array(versionList),
            "deprecation": deprecation,
            "vulnerabilities": .array(
                shown.vulnerabilities.map { v in
                    .object(["advisoryUrl": .string(v.advisoryURL), "severity": .int(v.severity.rawValue)])
                }),
        ])
    }
}
