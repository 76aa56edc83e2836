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

    public func render(_ registration: PackageRegistration) -> [FeedDocument] {
        let versions = versions(of: registration)
        guard !versions.isEmpty else { return [] }
        let lid = registration.lowerId
        let indexPath = FeedLayout.registrationIndex(hive.folder, lid)
        let indexURL = layout.url(indexPath)
        var docs: [FeedDocument] = []

        for v in versions {
            docs.append(.json(leafPath(lid, v), leafDocument(v, lid: lid, indexURL: indexURL), phase: .leaves))
        }

        let inline = versions.count < Self.inlineThreshold
        let chunks: [ArraySlice<PackageVersion>] =
            inline
            ? [versions[...]]
            : stride(from: 0, to: versions.count, by: Self.pageSize).map {
                versions[$0..<min($0 + Self.pageSize, versions.count)]
            }
        var pages: [JSON] = []
        for chunk in chunks {
            let lower = chunk.first!.version.normalizedString.lowercased()
            let upper = chunk.last!.version.normalizedString.lowercased()
            let leaves = JSON.array(chunk.map { leafInPage($0, lid: lid, indexURL: indexURL) })
            if inline {
                pages.append(
                    page(
                        id: indexURL + "#page/\(lower)/\(upper)", count: chunk.count, items: leaves, indexURL: indexURL,
                        lower: lower, upper: upper))
            } else {
                let pagePath = FeedLayout.registrationPage(hive.folder, lid, lower: lower, upper: upper)
                let pageURL = layout.url(pagePath)
                docs.append(
                    .json(
                        pagePath,
                        page(
                            id: pageURL, count: chunk.count, items: leaves, indexURL: indexURL, lower: lower,
                            upper: upper),
                        phase: .leaves))
                pages.append(
                    page(id: pageURL, count: chunk.count, items: nil, indexURL: indexURL, lower: lower, upper: upper))
            }
        }
        let index: JSON = .object([
            .init("@id", .string(indexURL)),
            .init("@type", .array(["catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"])),
            .init("count", .int(pages.count)),
            .init("items", .array(pages)),
        ])
        docs.append(.json(indexPath, index, phase: .indexes))
        return docs
    }

    private func leafPath(_ lid: String, _ v: PackageVersion) -> String {
        FeedLayout.registrationLeaf(hive.folder, lid, v.lowerVersion)
    }

    private func page(id: String, count: Int, items: JSON?, indexURL: String, lower: String, upper: String) -> JSON {
        .object([
            "@id": .string(id),
            "@type": "catalog:CatalogPage",
            "count": .int(count),
            "items": items,
            "parent": .string(indexURL),
            "lower": .string(lower),
            "upper": .string(upper),
        ])
    }

    /// A leaf as it appears inside a page (`RegistrationLeafItem`): `catalogEntry` inline.
    private func leafInPage(_ v: PackageVersion, lid: String, indexURL: String) -> JSON {
        .object([
            .init("@id", .string(layout.url(leafPath(lid, v)))),
            .init("@type", "Package"),
            .init("catalogEntry", catalogEntry(v, lid: lid)),
            .init("packageContent", .string(layout.url(FeedLayout.nupkg(lid, v.lowerVersion)))),
            .init("registration", .string(indexURL)),
        ])
    }

    /// The stand-alone leaf document (`{hive}/{id}/{version}.json`).
    private func leafDocument(_ v: PackageVersion, lid: String, indexURL: String) -> JSON {
        .object([
            .init("@id", .string(layout.url(leafPath(lid, v)))),
            .init("@type", .array(["Package", "http://schema.nuget.org/catalog#Permalink"])),
            .init("catalogEntry", .string(layout.url(leafPath(lid, v)) + "#catalogEntry")),
            .init("listed", .bool(v.listed)),
            .init("packageContent", .string(layout.url(FeedLayout.nupkg(lid, v.lowerVersion)))),
            .init("published", .string(Self.published(v))),
            .init("registration", .string(indexURL)),
        ])
    }

    /// `catalogEntry`: every field a client shows (NuGet.Protocol `PackageSearchMetadataRegistration`).
    func catalogEntry(_ v: PackageVersion, lid: String) -> JSON {
        let n = v.nuspec
        let a = v.archive
        let lv = v.lowerVersion
        let entryURL = layout.url(leafPath(lid, v)) + "#catalogEntry"
        // NuGet reads `iconUrl` as a Uri without the lenient converter it uses for the other URLs
        // (NuGet.Protocol `PackageSearchMetadata.IconUrl`): a malformed one would fail the whole
        // document, so only an absolute http(s) URL is passed on.
        var iconURL = n.iconUrl.flatMap(Self.webURL)
        if let icon = a.icon { iconURL = layout.url(FeedLayout.icon(lid, lv, icon.fileExtension)) }
        var licenseURL = n.licenseUrl
        var licenseExpression: String?
        if let license = n.license {
            switch license.kind {
            case .expression:
                licenseExpression = license.text
                // nuget.org points licenseUrl at the expression's page.
                licenseURL =
                    "https://licenses.nuget.org/"
                    + (license.text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? license.text)
            case .file:
                if let file = a.licenseFile { licenseURL = layout.url(FeedLayout.license(lid, lv, file.fileExtension)) }
            }
        }
        let groups = JSON.array(n.dependencyGroups.map { dependencyGroup($0, entryURL: entryURL) })
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
            "dependencyGroups": groups,
            "deprecation": v.deprecation.map { Self.deprecation($0, entryURL: entryURL, layout: layout, hive: hive) },
            "description": .string(n.description ?? ""),
            "iconUrl": .string(iconURL ?? ""),
            "id": .string(n.id),
            "language": .string(n.language ?? ""),
            "licenseExpression": .string(licenseExpression ?? ""),
            "licenseUrl": .string(licenseURL ?? ""),
            "listed": .bool(v.listed),
            "minClientVersion": .string(n.minClientVersion ?? ""),
            "packageContent": .string(layout.url(FeedLayout.nupkg(lid, lv))),
            "packageTypes": packageTypes,
            "projectUrl": .string(n.projectUrl ?? ""),
            "published": .string(Self.published(v)),
            "requireLicenseAcceptance": .bool(n.requireLicenseAcceptance),
            "summary": .string(n.summary ?? ""),
            "tags": .array(n.tags.map(JSON.string)),
            "title": .string(n.title ?? ""),
            "version": .string(n.version.fullString),
            "vulnerabilities": v.vulnerabilities.isEmpty
                ? nil : Self.vulnerabilities(v.vulnerabilities, entryURL: entryURL),
        ])
    }

    /// nuget.org writes 1900-01-01 as the `published` time of an unlisted version, and older
    /// clients read "unlisted" from that year rather than from `listed`.
    static func published(_ v: PackageVersion) -> String {
        v.listed ? timestamp(v.archive.packedAt) : "1900-01-01T00:00:00+00:00"
    }

    /// `deprecation` as nuget.org writes it in a catalog entry (NuGet.Protocol
    /// `PackageDeprecationMetadata`: `reasons`, `message`, `alternatePackage` with `id` and `range`,
    /// `*` for any version).
    static func deprecation(_ d: Deprecation, entryURL: String, layout: FeedLayout, hive: Hive) -> JSON {
        let alternate: JSON? = d.alternateId.map { id in
            .object([
                "@id": .string(entryURL + "/deprecation/alternatePackage"),
                "id": .string(id),
                "range": .string(d.alternateRange?.normalizedString ?? "*"),
            ])
        }
        return .object([
            "@id": .string(entryURL + "/deprecation"),
            "@type": "deprecation",
            "alternatePackage": alternate,
            "message": d.message.map(JSON.string),
            "reasons": .array(d.reasons.map { .string($0.rawValue) }),
        ])
    }

    /// `vulnerabilities`: advisory URL and severity (`"0"` low to `"3"` critical, a string as
    /// nuget.org writes it; NuGet reads it as a number).
    static func vulnerabilities(_ list: [Vulnerability], entryURL: String) -> JSON {
        .array(
            list.enumerated().map { i, v in
                .object([
                    "@id": .string(entryURL + "/vulnerability/\(i)"),
                    "@type": "Vulnerability",
                    "advisoryUrl": .string(v.advisoryURL),
                    "severity": .string(String(v.severity.rawValue)),
                ])
            })
    }

    /// A dependency group with the framework's short folder name (`net45`, `netstandard2.0`) and
    /// normalized ranges (`[1.0.0, )`); a group for any framework has no `targetFramework`.
    private func dependencyGroup(_ g: Nuspec.DependencyGroup, entryURL: String) -> JSON {
        let framework = g.targetFramework.map { NuGetFramework.parse($0) }
        let tfm = framework.map(\.shortFolderName)
        let groupURL = entryURL + "/dependencygroup" + (tfm.map { "/" + $0.lowercased() } ?? "")
        let deps: JSON? =
            g.dependencies.isEmpty
            ? nil
            : .array(
                g.dependencies.map { d in
                    .object([
                        .init("@id", .string(groupURL + "/" + d.id.lowercased())),
                        .init("@type", "PackageDependency"),
                        .init("id", .string(d.id)),
                        .init("range", .string(d.range.normalizedString)),
                        .init(
                            "registration",
                            .string(layout.url(FeedLayout.registrationIndex(hive.folder, d.id.lowercased())))),
                    ])
                })
        return .object([
            "@id": .string(groupURL),
            "@type": "PackageDependencyGroup",
            "dependencies": deps,
            "targetFramework": tfm.json,
        ])
    }

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
