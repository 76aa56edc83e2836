import Foundation
import NuGetCore

/// Renders one registration hive (`RegistrationsBaseUrl/*`): per id an index with pages, pages
/// and leaves, in the shape of nuget.org's documents.
///
/// Paging follows nuget.org (NuGet.Services.Metadata `RegistrationPersistence`:
/// `PackageCountThreshold = 128`, `PartitionSize = 64`): below 128 versions one page holds every
/// leaf inline; at 128 and above the index links to external pages of 64 leaves. `lower` and
/// `upper` are the lowest and highest version of a page in NuGet order (the client skips a page
/// whose bounds are out of order, and its versions vanish).
public struct RegistrationRenderer: Sendable {
    public enum Hive: Sendable {
        /// SemVer 1.0.0 versions only.
        case semVer1
        /// Every version, SemVer 2.0.0 included.
        case semVer2

        public var folder: String {
            self == .semVer1 ? FeedLayout.registrationSemVer1 : FeedLayout.registrationSemVer2
        }
    }

    public static let inlineThreshold = 128
    public static let pageSize = 64

    public let layout: FeedLayout
    public let hive: Hive

    public init(layout: FeedLayout, hive: Hive) {
        self.layout = layout
        self.hive = hive
    }

    /// The versions this hive shows.
    public func versions(of registration: PackageRegistration) -> [PackageVersion] {
        hive == .semVer2 ? registration.versions : registration.versions.filter { !$0.nuspec.isSemVer2 }
    }

    /// The documents of one id: its index, external pages when it has 128 versions or more, and a
    /// leaf per version. `catalog` says which catalog leaf describes each version and which
    /// commit last changed the id: nuget.org's registration links the leaf and carries the commit.
    public func render(_ registration: PackageRegistration, catalog: CatalogLinks = CatalogLinks()) -> [FeedDocument] {
        let versions = versions(of: registration)
        guard !versions.isEmpty else { return [] }
        let lid = registration.lowerId
        let indexPath = FeedLayout.registrationIndex(hive.folder, lid)
        let indexURL = layout.url(indexPath)
        var docs: [FeedDocument] = []

        for v in versions {
            docs.append(
                .json(leafPath(lid, v), leafDocument(v, lid: lid, indexURL: indexURL, catalog: catalog), phase: .leaves)
            )
        }

        let inline = versions.count < Self.inlineThreshold
        let chunks: [ArraySlice<PackageVersion>] =
            inline
            ? [versions[...]]
            : stride(from: 0, to: versions.count, by: Self.pageSize).map {
                versions[$0..<min($0 + Self.pageSize, versions.count)]
            }
        var pages: [JSON] = []
        let commits = catalog.pageCommits(chunks.map { ($0.first!.version, $0.last!.version) })
        for (chunk, commit) in zip(chunks, commits) {
            let lower = chunk.first!.version.normalizedString
            let upper = chunk.last!.version.normalizedString
            let leaves = JSON.array(chunk.map { leafInPage($0, lid: lid, indexURL: indexURL, catalog: catalog) })
            if inline {
                pages.append(
                    page(
                        id: indexURL + "#page/\(lower.lowercased())/\(upper.lowercased())", commit: commit,
                        count: chunk.count, items: leaves, indexURL: indexURL, lower: lower, upper: upper))
            } else {
                let pagePath = FeedLayout.registrationPage(
                    hive.folder, lid, lower: lower.lowercased(), upper: upper.lowercased())
                let pageURL = layout.url(pagePath)
                var document = page(
                    id: pageURL, commit: commit, count: chunk.count, items: leaves, indexURL: indexURL, lower: lower,
                    upper: upper)
                if case .object(let members) = document {
                    document = .object(members + [JSON.Member("@context", Self.containerContext)])
                }
                docs.append(.json(pagePath, document, phase: .leaves))
                pages.append(
                    page(
                        id: pageURL, commit: commit, count: chunk.count, items: nil, indexURL: nil, lower: lower,
                        upper: upper))
            }
        }
        let commit = catalog.latest
        let index: JSON = .object([
            "@id": .string(indexURL),
            "@type": .array(["catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"]),
            "commitId": commit.map { .string($0.commitId) },
            "commitTimeStamp": commit.map { .string(Self.commitTime($0.ticks)) },
            "count": .int(pages.count),
            "items": .array(pages),
            "@context": Self.containerContext,
        ])
        docs.append(.json(indexPath, index, phase: .indexes))
        return docs
    }

    private func leafPath(_ lid: String, _ v: PackageVersion) -> String {
        FeedLayout.registrationLeaf(hive.folder, lid, v.lowerVersion)
    }

    /// A page: inline in the index (with its leaves and `parent`), external (the same, as its own
    /// document), or the index's item for an external one (no leaves, no `parent`). `lower` and
    /// `upper` are normalized versions in their own case; the URL has them lowercased.
    private func page(
        id: String, commit: CatalogItem?, count: Int, items: JSON?, indexURL: String?, lower: String, upper: String
    ) -> JSON {
        .object([
            "@id": .string(id),
            "@type": "catalog:CatalogPage",
            "commitId": commit.map { .string($0.commitId) },
            "commitTimeStamp": commit.map { .string(Self.commitTime($0.ticks)) },
            "count": .int(count),
            "items": items,
            "parent": indexURL.json,
            "lower": .string(lower),
            "upper": .string(upper),
        ])
    }

    /// A leaf as it appears inside a page (`RegistrationLeafItem`): `catalogEntry` inline, and the
    /// catalog commit that last changed the version.
    private func leafInPage(_ v: PackageVersion, lid: String, indexURL: String, catalog: CatalogLinks) -> JSON {
        let item = catalog.leaves[v.lowerVersion]
        return .object([
            "@id": .string(layout.url(leafPath(lid, v))),
            "@type": "Package",
            "commitId": item.map { .string($0.commitId) },
            "commitTimeStamp": item.map { .string(Self.commitTime($0.ticks)) },
            "catalogEntry": catalogEntry(v, lid: lid, leaf: item),
            "packageContent": .string(layout.url(FeedLayout.nupkg(lid, v.lowerVersion))),
            "registration": .string(indexURL),
        ])
    }

    /// The stand-alone leaf document (`{hive}/{id}/{version}.json`).
    private func leafDocument(_ v: PackageVersion, lid: String, indexURL: String, catalog: CatalogLinks) -> JSON {
        .object([
            "@id": .string(layout.url(leafPath(lid, v))),
            "@type": .array(["Package", "http://schema.nuget.org/catalog#Permalink"]),
            "catalogEntry": .string(catalogLeafURL(v, lid: lid, leaf: catalog.leaves[v.lowerVersion])),
            "listed": .bool(v.listed),
            "packageContent": .string(layout.url(FeedLayout.nupkg(lid, v.lowerVersion))),
            "published": .string(Self.published(v)),
            "registration": .string(indexURL),
            "@context": Self.leafContext,
        ])
    }

    /// The catalog leaf that describes the version as it is (its latest), or, when the catalog
    /// has none (a renderer called without one), a fragment of the registration leaf.
    private func catalogLeafURL(_ v: PackageVersion, lid: String, leaf: CatalogItem?) -> String {
        leaf.map { layout.url(CatalogLayout.leaf($0)) } ?? layout.url(leafPath(lid, v)) + "#catalogEntry"
    }

    /// `catalogEntry`: every field a client shows (NuGet.Protocol `PackageSearchMetadataRegistration`),
    /// as nuget.org's registration writes it (NuGetGallery `NuGet.Jobs.Catalog2Registration`
    /// `EntityBuilder`): the catalog leaf's `@id` and fragment ids, the nuspec's own
    /// `targetFramework` text (clients before NuGet 5.6 misread short names such as `net5.0`),
    /// deprecation and advisories in the SemVer 2.0.0 hive only. Shelf adds `packageTypes`.
    func catalogEntry(_ v: PackageVersion, lid: String, leaf: CatalogItem?) -> JSON {
        let n = v.nuspec
        let lv = v.lowerVersion
        let entryURL = catalogLeafURL(v, lid: lid, leaf: leaf)
        let packageTypes: JSON? =
            n.packageTypes.isEmpty
            ? nil
            : .array(
                n.packageTypes.map { t in
                    .object(["name": .string(t.name), "version": t.version.json])
                })
        return .object([
            "@id": .string(entryURL),
            "@type": "PackageDetails",
            "authors": .string(n.authors ?? ""),
            "dependencyGroups": dependencyGroups(n, leafURL: entryURL.lowercased()),
            "deprecation": hive == .semVer2 ? v.deprecation.map { Self.deprecation($0, leafURL: entryURL) } : nil,
            "description": .string(n.description ?? ""),
            "iconUrl": .string(Self.iconURL(v, lid: lid, layout: layout) ?? ""),
            "id": .string(n.id),
            "language": .string(n.language ?? ""),
            "licenseExpression": .string(n.license?.kind == .expression ? n.license!.text : ""),
            "licenseUrl": .string(Self.licenseURL(v, lid: lid, layout: layout) ?? ""),
            "readmeUrl": v.archive.readme.map { _ in .string(layout.url(FeedLayout.readme(lid, lv))) },
            "listed": .bool(v.listed),
            "minClientVersion": .string(n.minClientVersion ?? ""),
            "packageContent": .string(layout.url(FeedLayout.nupkg(lid, lv))),
            "packageTypes": packageTypes,
            "projectUrl": .string(n.projectUrl ?? ""),
            "published": .string(Self.published(v)),
            "requireLicenseAcceptance": .bool(n.requireLicenseAcceptance),
            "summary": .string(n.summary ?? ""),
            "tags": .array((n.tags.isEmpty ? [""] : n.tags).map(JSON.string)),
            "title": .string(n.title ?? ""),
            "version": .string(n.version.fullString),
            "vulnerabilities": hive == .semVer2 && !v.vulnerabilities.isEmpty
                ? Self.vulnerabilities(v.vulnerabilities) : nil,
        ])
    }

    /// The icon's URL: the embedded icon in the flat container, else the nuspec's `iconUrl`.
    /// NuGet reads `iconUrl` as a Uri without the lenient converter it uses for the other URLs
    /// (NuGet.Protocol `PackageSearchMetadata.IconUrl`): a malformed one would fail the whole
    /// document, so only an absolute http(s) URL is passed on.
    static func iconURL(_ v: PackageVersion, lid: String, layout: FeedLayout) -> String? {
        if let icon = v.archive.icon { return layout.url(FeedLayout.icon(lid, v.lowerVersion, icon.fileExtension)) }
        return v.nuspec.iconUrl.flatMap(webURL)
    }

    /// The license's URL: for an expression, its page at licenses.nuget.org (as nuget.org points
    /// it); for an embedded file, the file in the flat container; else the nuspec's `licenseUrl`.
    static func licenseURL(_ v: PackageVersion, lid: String, layout: FeedLayout) -> String? {
        guard let license = v.nuspec.license else { return v.nuspec.licenseUrl }
        switch license.kind {
        case .expression:
            return "https://licenses.nuget.org/"
                + (license.text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? license.text)
        case .file:
            guard let file = v.archive.licenseFile else { return v.nuspec.licenseUrl }
            return layout.url(FeedLayout.license(lid, v.lowerVersion, file.fileExtension))
        }
    }

    /// nuget.org writes 1900-01-01 as the `published` time of an unlisted version, and older
    /// clients read "unlisted" from that year rather than from `listed`.
    static func published(_ v: PackageVersion) -> String {
        v.listed ? timestamp(v.archive.packedAt) : "1900-01-01T00:00:00+00:00"
    }

    /// `deprecation` as nuget.org's registration writes it: the catalog leaf's object with `@type`s.
    static func deprecation(_ d: Deprecation, leafURL: String) -> JSON {
        let alternate: JSON? = d.alternateId.map { id in
            .object([
                "@id": .string(leafURL + "#deprecation/alternatePackage"),
                "@type": "alternatePackage",
                "id": .string(id),
                "range": .string(d.alternateRange?.normalizedString ?? "*"),
            ])
        }
        return .object([
            "@id": .string(leafURL + "#deprecation"),
            "@type": "deprecation",
            "alternatePackage": alternate,
            "message": d.message.map(JSON.string),
            "reasons": .array(Deprecation.Reason.catalogOrder(d.reasons.map(\.rawValue)).map(JSON.string)),
        ])
    }

    /// `vulnerabilities`: advisory URL and severity (`"0"` low to `"3"` critical, a string as
    /// nuget.org writes it; NuGet reads it as a number).
    static func vulnerabilities(_ list: [Vulnerability]) -> JSON {
        .array(
            list.map { v in
                .object(["advisoryUrl": .string(v.advisoryURL), "severity": .string(String(v.severity.rawValue))])
            })
    }

    /// The dependency groups as the catalog leaf has them (fragment ids of the leaf, the nuspec's
    /// own `targetFramework` text, ranges normalized or "(, )" when the nuspec gives none), each
    /// dependency with the registration of its id in this hive; nil when the nuspec has none.
    ///
    /// An empty `<dependencies>` element is no group here, though nuget.org's catalog (and so its
    /// registration) makes one of it: NuGet's own nuspec reader sees no group in it, and a client
    /// that compares the two (the official one does) would find them differ.
    private func dependencyGroups(_ n: Nuspec, leafURL: String) -> JSON? {
        guard !n.dependencyGroups.isEmpty,
            case .array(let groups)? = CatalogRenderer.dependencyGroups(n, leafURL: leafURL)
        else { return nil }
        return .array(
            groups.map { group in
                guard case .object(var members) = group else { return group }
                for i in members.indices where members[i].key == "dependencies" {
                    guard case .array(let deps) = members[i].value else { continue }
                    members[i].value = .array(
                        deps.map { dep in
                            guard case .object(let fields) = dep,
                                case .string(let id)? = fields.first(where: { $0.key == "id" })?.value
                            else { return dep }
                            // nuget.org copies the catalog's "" for a dependency without a
                            // range; every NuGet client reads that as any version, and so it is
                            // written here ("(, )"), which a stricter reader parses too.
                            let ranged = fields.map { f in
                                f.key == "range" && f.value == .string("") ? JSON.Member("range", "(, )") : f
                            }
                            return .object(
                                ranged + [
                                    JSON.Member(
                                        "registration",
                                        .string(layout.url(FeedLayout.registrationIndex(hive.folder, id.lowercased()))))
                                ])
                        })
                }
                return .object(members)
            })
    }

    /// A commit time as nuget.org's registration writes it (`2020-10-13T14:44:10.4931057+00:00`,
    /// trailing zeros of the fraction dropped).
    static func commitTime(_ ticks: Int64) -> String {
        CatalogTime.trimmed(ticks).dropLast() + "+00:00"
    }

    /// The `@context` of an index and of an external page (NuGetGallery
    /// `NuGet.Jobs.Catalog2Registration` `JsonLdConstants`).
    static let containerContext: JSON = .object([
        "@vocab": "http://schema.nuget.org/schema#",
        "catalog": "http://schema.nuget.org/catalog#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "items": .object(["@id": "catalog:item", "@container": "@set"]),
        "commitTimeStamp": .object(["@id": "catalog:commitTimeStamp", "@type": "xsd:dateTime"]),
        "commitId": .object(["@id": "catalog:commitId"]),
        "count": .object(["@id": "catalog:count"]),
        "parent": .object(["@id": "catalog:parent", "@type": "@id"]),
        "tags": .object(["@id": "tag", "@container": "@set"]),
        "reasons": .object(["@container": "@set"]),
        "packageTargetFrameworks": .object(["@id": "packageTargetFramework", "@container": "@set"]),
        "dependencyGroups": .object(["@id": "dependencyGroup", "@container": "@set"]),
        "dependencies": .object(["@id": "dependency", "@container": "@set"]),
        "packageContent": .object(["@type": "@id"]),
        "published": .object(["@type": "xsd:dateTime"]),
        "registration": .object(["@type": "@id"]),
    ])

    /// The `@context` of a stand-alone leaf.
    static let leafContext: JSON = .object([
        "@vocab": "http://schema.nuget.org/schema#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "catalogEntry": .object(["@type": "@id"]),
        "registration": .object(["@type": "@id"]),
        "packageContent": .object(["@type": "@id"]),
        "published": .object(["@type": "xsd:dateTime"]),
    ])

    /// The string if it is an absolute http or https URL with a host, else nil.
    static func webURL(_ s: String) -> String? {
        guard let url = URL(string: s), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return nil }
        return s
    }

    /// ISO 8601 in UTC, the form nuget.org writes (`2019-03-28T18:57:52+00:00`).
    public static func timestamp(_ date: Date) -> String {
        let parts = UTCDateTime.parts(time_t(date.timeIntervalSince1970.rounded(.down)))
        guard (0...9999).contains(Int(parts.tm_year) + 1900) else {
            return String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d+00:00", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        }
        var out = [UInt8]()
        out.reserveCapacity(25)
        UTCDateTime.append(parts, to: &out)
        out += Array("+00:00".utf8)
        return String(decoding: out, as: UTF8.self)
    }
}
