import Foundation
import NuGetCore

/// Paths of the catalog (`Catalog/3.0.0`).
public enum CatalogLayout {
    public static let index = "catalog/index.json"
    /// Items per page, as nuget.org's catalog writer (`AppendOnlyCatalogWriter`, 550).
    public static let pageSize = 550

    public static func page(_ number: Int) -> String { "catalog/page\(number).json" }

    public static func leaf(_ item: CatalogItem) -> String {
        "catalog/data/\(CatalogTime.folder(item.ticks))/\(item.lowerId).\(item.lowerVersion).json"
    }
}

/// Renders the catalog (learn.microsoft.com `nuget/api/catalog-resource`): the index, every page
/// (pages of 550 items; an old page's bytes never change once it is full) and a leaf per item.
///
/// Leaves of earlier builds are kept as they are: their package may be gone, and followers may
/// still read them. Only this build's new items get new leaves.
public struct CatalogRenderer: Sendable {
    public let layout: FeedLayout

    public init(layout: FeedLayout) { self.layout = layout }

    /// `state` is the full history after this build; its last `added` items are new.
    ///
    /// Pages numbered below `keepPagesBefore` are already on disk with these exact bytes (their
    /// items never change and the base URL is the same): they are kept, not rendered.
    public func render(state: CatalogState, added: Int, model: FeedModel, keepPagesBefore: Int = 0) -> [FeedDocument] {
        var docs: [FeedDocument] = []
        let firstNew = state.items.count - added
        var versions: [String: (PackageRegistration, PackageVersion)] = [:]
        if added > 0 {
            for r in model.registrations {
                for v in r.versions { versions[CatalogItem.key(r.lowerId, v.lowerVersion)] = (r, v) }
            }
        }
        // Leaves of earlier items were written by earlier builds and never change.
        for item in state.items[max(0, firstNew)...] {
            let path = CatalogLayout.leaf(item)
            let leaf: JSON
            switch item.kind {
            case .details:
                guard let (_, v) = versions[item.key] else { continue }
                leaf = detailsLeaf(item, v)
            case .delete:
                leaf = deleteLeaf(item)
            }
            docs.append(.json(path, leaf, phase: .content))
        }

        let indexURL = layout.url(CatalogLayout.index)
        var pages: [JSON] = []
        let chunks = stride(from: 0, to: state.items.count, by: CatalogLayout.pageSize).map {
            state.items[$0..<min($0 + CatalogLayout.pageSize, state.items.count)]
        }
        for (n, chunk) in chunks.enumerated() {
            let pagePath = CatalogLayout.page(n)
            let pageURL = layout.url(pagePath)
            let last = chunk.last!
            pages.append(
                .object([
                    "@id": .string(pageURL),
                    "@type": "CatalogPage",
                    "commitId": .string(last.commitId),
                    "commitTimeStamp": .string(CatalogTime.string(last.ticks)),
                    "count": .int(chunk.count),
                ]))
            if n < keepPagesBefore { continue }  // on disk with these bytes
            let page: JSON = .object([
                "@id": .string(pageURL),
                "@type": "CatalogPage",
                "commitId": .string(last.commitId),
                "commitTimeStamp": .string(CatalogTime.string(last.ticks)),
                "count": .int(chunk.count),
                "items": .array(chunk.map(pageItem)),
                "parent": .string(indexURL),
                "@context": Self.pageContext,
            ])
            docs.append(.json(pagePath, page, phase: .leaves))
        }
        let last = state.items.last
        let lastCreated = state.items.last { $0.kind == .details }
        let lastDeleted = state.items.last { $0.kind == .delete }
        let index: JSON = .object([
            "@id": .string(indexURL),
            "@type": .array(["CatalogRoot", "AppendOnlyCatalog", "Permalink"]),
            "commitId": last.map { .string($0.commitId) } ?? .null,
            "commitTimeStamp": last.map { .string(CatalogTime.string($0.ticks)) } ?? .null,
            "count": .int(pages.count),
            "nuget:lastCreated": lastCreated.map { .string(CatalogTime.string($0.ticks)) },
            "nuget:lastDeleted": lastDeleted.map { .string(CatalogTime.string($0.ticks)) },
            "nuget:lastEdited": lastCreated.map { .string(CatalogTime.string($0.ticks)) },
            "items": .array(pages),
            "@context": Self.indexContext,
        ])
        docs.append(.json(CatalogLayout.index, index, phase: .indexes))
        return docs
    }

    private func pageItem(_ item: CatalogItem) -> JSON {
        .object([
            "@id": .string(layout.url(CatalogLayout.leaf(item))),
            "@type": .string(item.kind == .details ? "nuget:PackageDetails" : "nuget:PackageDelete"),
            "commitId": .string(item.commitId),
            "commitTimeStamp": .string(CatalogTime.string(item.ticks)),
            "nuget:id": .string(item.id),
            "nuget:version": .string(item.version),
        ])
    }

    /// A `PackageDetails` leaf: the package's metadata as its nuspec gives it, with the hash and
    /// size of the file (nuget.org's `PackageDetails` catalog item).
    private func detailsLeaf(_ item: CatalogItem, _ v: PackageVersion) -> JSON {
        let n = v.nuspec
        let time = JSON.string(CatalogTime.string(item.ticks))
        let published = JSON.string(CatalogTime.string(CatalogTime.ticks(v.archive.packedAt)))
        let leafURL = layout.url(CatalogLayout.leaf(item))
        let groups: JSON? =
            n.dependencyGroups.isEmpty
            ? nil
            : .array(
                n.dependencyGroups.map { g in
                    let groupURL =
                        leafURL + "#dependencygroup" + (g.targetFramework.map { "/" + $0.lowercased() } ?? "")
                    return .object([
                        "@id": .string(groupURL),
                        "@type": "PackageDependencyGroup",
                        "dependencies": g.dependencies.isEmpty
                            ? nil
                            : .array(
                                g.dependencies.map { d in
                                    .object([
                                        "@id": .string(groupURL + "/" + d.id.lowercased()),
                                        "@type": "PackageDependency",
                                        "id": .string(d.id),
                                        "range": .string(d.range.normalizedString),
                                    ])
                                }),
                        "targetFramework": g.targetFramework.map(JSON.string),
                    ])
                })
        var licenseExpression: String?
        if let license = n.license, license.kind == .expression { licenseExpression = license.text }
        return .object([
            "@id": .string(leafURL),
            "@type": .array(["PackageDetails", "catalog:Permalink"]),
            "authors": .string(n.authors ?? ""),
            "catalog:commitId": .string(item.commitId),
            "catalog:commitTimeStamp": time,
            "copyright": n.copyright.map(JSON.string),
            "created": published,
            "description": .string(n.description ?? ""),
            "iconUrl": n.iconUrl.map(JSON.string),
            "id": .string(n.id),
            "isPrerelease": .bool(n.version.isPrerelease),
            "language": n.language.map(JSON.string),
            "lastEdited": time,
            "licenseExpression": licenseExpression.map(JSON.string),
            "licenseUrl": n.licenseUrl.map(JSON.string),
            "listed": .bool(v.listed),
            "minClientVersion": n.minClientVersion.map(JSON.string),
            "packageHash": .string(v.archive.sha512),
            "packageHashAlgorithm": "SHA512",
            "packageSize": .int(Int(v.archive.size)),
            "projectUrl": n.projectUrl.map(JSON.string),
            "published": published,
            "releaseNotes": n.releaseNotes.map(JSON.string),
            "requireLicenseAcceptance": .bool(n.requireLicenseAcceptance),
            "summary": n.summary.map(JSON.string),
            "tags": n.tags.isEmpty ? nil : .array(n.tags.map(JSON.string)),
            "title": n.title.map(JSON.string),
            "verbatimVersion": .string(n.versionText),
            "version": .string(n.version.fullString),
            "dependencyGroups": groups,
            "packageTypes": n.packageTypes.isEmpty
                ? nil
                : .array(n.packageTypes.map { t in .object(["name": .string(t.name), "version": t.version.json]) }),
            "@context": Self.leafContext,
        ])
    }

    private func deleteLeaf(_ item: CatalogItem) -> JSON {
        let time = JSON.string(CatalogTime.string(item.ticks))
        return .object([
            "@id": .string(layout.url(CatalogLayout.leaf(item))),
            "@type": .array(["PackageDelete", "catalog:Permalink"]),
            "catalog:commitId": .string(item.commitId),
            "catalog:commitTimeStamp": time,
            "id": .string(item.id),
            "originalId": .string(item.id),
            "published": time,
            "version": .string(item.version),
            "@context": Self.leafContext,
        ])
    }

    // The JSON-LD contexts nuget.org's catalog documents carry.
    static let indexContext: JSON = .object([
        "@vocab": "http://schema.nuget.org/catalog#",
        "nuget": "http://schema.nuget.org/schema#",
        "items": .object(["@id": "item", "@container": "@set"]),
        "parent": .object(["@type": "@id"]),
        "commitTimeStamp": .object(["@type": "http://www.w3.org/2001/XMLSchema#dateTime"]),
        "nuget:lastCreated": .object(["@type": "http://www.w3.org/2001/XMLSchema#dateTime"]),
        "nuget:lastEdited": .object(["@type": "http://www.w3.org/2001/XMLSchema#dateTime"]),
        "nuget:lastDeleted": .object(["@type": "http://www.w3.org/2001/XMLSchema#dateTime"]),
    ])
    static let pageContext: JSON = .object([
        "@vocab": "http://schema.nuget.org/catalog#",
        "nuget": "http://schema.nuget.org/schema#",
        "items": .object(["@id": "item", "@container": "@set"]),
        "parent": .object(["@type": "@id"]),
        "commitTimeStamp": .object(["@type": "http://www.w3.org/2001/XMLSchema#dateTime"]),
    ])
    static let leafContext: JSON = .object([
        "@vocab": "http://schema.nuget.org/schema#",
        "catalog": "http://schema.nuget.org/catalog#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "dependencies": .object(["@id": "dependency", "@container": "@set"]),
        "dependencyGroups": .object(["@id": "dependencyGroup", "@container": "@set"]),
        "packageTypes": .object(["@id": "packageType", "@container": "@set"]),
        "tags": .object(["@id": "tag", "@container": "@set"]),
        "published": .object(["@type": "xsd:dateTime"]),
        "created": .object(["@type": "xsd:dateTime"]),
        "lastEdited": .object(["@type": "xsd:dateTime"]),
        "catalog:commitTimeStamp": .object(["@type": "xsd:dateTime"]),
    ])
}
