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
            "nuget:version": .string(item.kind == .details ? item.version : Self.deletedVersion(item)),
        ])
    }

    /// The version a delete names, in its page item and leaf: normalized, without build metadata
    /// (NuGetGallery `DeleteCatalogItem`).
    static func deletedVersion(_ item: CatalogItem) -> String {
        item.version.split(separator: "+", maxSplits: 1).first.map(String.init) ?? item.version
    }

    /// A `PackageDetails` leaf, field for field as nuget.org's catalog writer makes one
    /// (NuGetGallery `src/Catalog`: `PackageCatalogItem`, `xslt/nuspec.xslt`, `Helpers/JsonSort.cs`):
    /// the nuspec's metadata as written, the package's files, size and hash, its listing,
    /// deprecation and advisories. Members are in nuget.org's order: `@id` and `@type`, then the
    /// others ordered without case, those holding a list after those that do not, `@context`
    /// last. Fragment ids are built, and lowercased, as nuget.org builds them.
    ///
    /// What Shelf has no record of is taken from the package: `created` is when it was packed,
    /// `lastEdited` when this leaf's change was committed. An unlisted version is `published` on
    /// 1900-01-01, as on nuget.org, where `listed` is read from that year.
    func detailsLeaf(_ item: CatalogItem, _ v: PackageVersion) -> JSON {
        let n = v.nuspec
        let leafURL = layout.url(CatalogLayout.leaf(item))
        let fragmentBase = leafURL.lowercased()
        let time = JSON.string(CatalogTime.trimmed(item.ticks))
        let packed = CatalogTime.trimmed(CatalogTime.ticks(v.archive.packedAt))
        var members: [JSON.Member] = []
        func add(_ key: String, _ value: JSON?) { if let value { members.append(JSON.Member(key, value)) } }

        add("authors", n.authors.json)
        add("catalog:commitId", .string(item.commitId))
        add("catalog:commitTimeStamp", time)
        add("copyright", n.copyright.json)
        add("created", .string(packed))
        add("deprecation", v.deprecation.map { Self.deprecation($0, leafURL: leafURL) })
        add("description", n.description.json)
        if n.declared.contains(.developmentDependency) { add("developmentDependency", .bool(n.developmentDependency)) }
        add("frameworkAssemblyGroup", Self.frameworkAssemblyGroup(n.frameworkAssemblies, leafURL: fragmentBase))
        if !n.declared.contains(.iconOfOtherType) { add("iconFile", n.icon.json) }
        add("iconUrl", n.iconUrl.json)
        add("id", .string(n.id))
        add("isPrerelease", .bool(n.version.isPrerelease))
        add("language", n.language.json)
        add("lastEdited", time)
        if let license = n.license {
            add(license.kind == .expression ? "licenseExpression" : "licenseFile", .string(license.text))
        }
        add("licenseUrl", n.licenseUrl.json)
        add("listed", .bool(v.listed))
        add("minClientVersion", n.minClientVersion.json)
        add("packageHash", .string(v.archive.sha512))
        add("packageHashAlgorithm", "SHA512")
        add("packageSize", .int(Int(v.archive.size)))
        add("projectUrl", n.projectUrl.json)
        add("published", .string(v.listed ? packed : CatalogTime.unlisted))
        if !n.declared.contains(.readmeOfOtherType) { add("readmeFile", n.readme.json) }
        add("releaseNotes", n.releaseNotes.json)
        add(
            "repository",
            n.repository.map { r in
                .object([
                    "@id": .string(fragmentBase + "#repository"), "branch": r.branch.json, "commit": r.commit.json,
                    "type": r.type.json, "url": r.url.json,
                ])
            })
        if n.declared.contains(.requireLicenseAcceptance) {
            add("requireLicenseAcceptance", .bool(n.requireLicenseAcceptance))
        }
        if n.declared.contains(.serviceable) { add("serviceable", .bool(n.serviceable)) }
        add("summary", n.summary.json)
        add("title", n.title.json)
        add("verbatimVersion", .string(n.versionText))
        add("version", .string(n.version.fullString))
        add("dependencyGroups", Self.dependencyGroups(n, leafURL: fragmentBase))
        add(
            "packageEntries",
            .array(
                v.archive.entries.map { e in
                    .object([
                        "@id": .string(leafURL + "#" + e.fullName), "@type": "PackageEntry",
                        "compressedLength": .int(Int(e.compressedLength)), "fullName": .string(e.fullName),
                        "length": .int(Int(e.length)), "name": .string(e.name),
                    ])
                }))
        add(
            "packageTypes",
            n.packageTypes.isEmpty
                ? nil
                : .array(
                    n.packageTypes.map { t in
                        .object([
                            "@id": .string(
                                fragmentBase + "#packagetypes/" + t.name + (t.version.map { "/" + $0 } ?? "")),
                            "@type": "PackageType", "name": .string(t.name), "version": t.version.json,
                        ])
                    }))
        add("tags", n.tags.isEmpty ? nil : .array(n.tags.map(JSON.string)))
        add(
            "vulnerabilities",
            v.vulnerabilities.isEmpty
                ? nil
                : .array(
                    v.vulnerabilities.enumerated().map { i, a in
                        .object([
                            "@id": .string(leafURL + "#vulnerability/\(i)"), "@type": "Vulnerability",
                            "advisoryUrl": .string(a.advisoryURL), "severity": .string(String(a.severity.rawValue)),
                        ])
                    }))
        return .object(
            [
                JSON.Member("@id", .string(leafURL)),
                JSON.Member("@type", .array(["PackageDetails", "catalog:Permalink"])),
            ]
                + Self.nugetOrder(members) + [JSON.Member("@context", Self.leafContext)])
    }

    /// nuget.org's order of a leaf's members (`JsonSort.OrderJson`): those that are not lists,
    /// then the lists, each by name compared without case (ordinal, upper-cased).
    static func nugetOrder(_ members: [JSON.Member]) -> [JSON.Member] {
        func isList(_ m: JSON.Member) -> Bool {
            if case .array = m.value { return true }
            return false
        }
        return members.enumerated().sorted { a, b in
            let (x, y) = (isList(a.element), isList(b.element))
            if x != y { return !x }
            let (p, q) = (a.element.key.uppercased(), b.element.key.uppercased())
            return p != q ? Array(p.utf16).lexicographicallyPrecedes(Array(q.utf16)) : a.offset < b.offset
        }.map(\.element)
    }

    /// `dependencyGroups` as nuget.org's catalog writes them: each group's `targetFramework` as
    /// the nuspec writes it, each dependency's range normalized ("" when it has none); an empty
    /// `<dependencies>` element is one group with nothing in it.
    static func dependencyGroups(_ n: Nuspec, leafURL: String) -> JSON? {
        if n.dependencyGroups.isEmpty {
            return n.declared.contains(.dependencies)
                ? .array([.object(["@id": .string(leafURL + "#dependencygroup"), "@type": "PackageDependencyGroup"])])
                : nil
        }
        return .array(
            n.dependencyGroups.map { g in
                let groupURL = leafURL + "#dependencygroup" + (g.targetFramework.map { "/" + $0.lowercased() } ?? "")
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
                                    "range": .string(d.versionText == nil ? "" : d.range.normalizedString),
                                ])
                            }),
                    "targetFramework": g.targetFramework.json,
                ])
            })
    }

    /// `frameworkAssemblyGroup`: one group per target framework (its assemblies merged, in order);
    /// an object when there is one group, a list when there are several. As `nuspec.xslt` reads
    /// them: a `targetFramework` is split as tags are, into one group per piece (none when no
    /// piece is left), and an empty one is the group without a framework; a group's `@id` is
    /// lowercased, so frameworks that differ only in case are one group (named as first seen).
    static func frameworkAssemblyGroup(_ assemblies: [Nuspec.FrameworkAssembly], leafURL: String) -> JSON? {
        var order: [String?] = []
        var byFramework: [String: [String]] = [:]
        for a in assemblies {
            let text = a.targetFramework ?? ""
            let frameworks: [String?] = text.isEmpty ? [nil] : Nuspec.splitTags(text).map(Optional.some)
            for tf in frameworks {
                let key = tf?.lowercased() ?? ""
                if byFramework[key] == nil { order.append(tf) }
                if !(byFramework[key] ?? []).contains(a.assemblyName) {
                    byFramework[key, default: []].append(a.assemblyName)
                }
            }
        }
        let groups: [JSON] = order.map { tf in
            let names = byFramework[tf?.lowercased() ?? ""] ?? []
            return .object([
                "@id": .string(leafURL + "#frameworkassemblygroup" + (tf.map { "/" + $0.lowercased() } ?? "")),
                "assembly": names.count == 1 ? .string(names[0]) : .array(names.map(JSON.string)),
                "targetFramework": tf.json,
            ])
        }
        if groups.isEmpty { return nil }
        return groups.count == 1 ? groups[0] : .array(groups)
    }

    /// `deprecation` as nuget.org's catalog writes it (no `@type`; reasons in its flag order).
    static func deprecation(_ d: Deprecation, leafURL: String) -> JSON {
        .object([
            "@id": .string(leafURL + "#deprecation"),
            "alternatePackage": d.alternateId.map { id in
                .object([
                    "@id": .string(leafURL + "#deprecation/alternatePackage"), "id": .string(id),
                    "range": .string(d.alternateRange?.normalizedString ?? "*"),
                ])
            },
            "message": d.message.json,
            "reasons": .array(Deprecation.Reason.catalogOrder(d.reasons.map(\.rawValue)).map(JSON.string)),
        ])
    }

    /// A `PackageDelete` leaf as nuget.org writes one (NuGetGallery `src/Catalog/DeleteCatalogItem.cs`):
    /// `published` is when the version was deleted, `version` its normalized form.
    private func deleteLeaf(_ item: CatalogItem) -> JSON {
        let time = JSON.string(CatalogTime.trimmed(item.ticks))
        return .object([
            "@id": .string(layout.url(CatalogLayout.leaf(item))),
            "@type": .array(["PackageDelete", "catalog:Permalink"]),
            "catalog:commitId": .string(item.commitId),
            "catalog:commitTimeStamp": time,
            "id": .string(item.id),
            "originalId": .string(item.id),
            "published": time,
            "version": .string(Self.deletedVersion(item)),
            "@context": Self.deleteContext,
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
    /// The `@context` of a delete leaf (NuGetGallery `src/Catalog/context/Catalog.json`).
    static let deleteContext: JSON = .object([
        "@vocab": "http://schema.nuget.org/schema#",
        "catalog": "http://schema.nuget.org/catalog#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "details": "catalog:details",
        "catalog:commitTimeStamp": .object(["@type": "xsd:dateTime"]),
        "published": .object(["@type": "xsd:dateTime"]),
        "categories": .object(["@container": "@set"]),
        "entries": .object(["@container": "@set"]),
        "links": .object(["@container": "@set"]),
        "tags": .object(["@container": "@set"]),
        "packageContent": .object(["@type": "@id"]),
    ])

    /// The `@context` of every details leaf, as nuget.org writes it (NuGetGallery
    /// `src/Catalog/context/PackageDetails.json`), whatever fields the leaf has.
    static let leafContext: JSON = .object([
        "@vocab": "http://schema.nuget.org/schema#",
        "catalog": "http://schema.nuget.org/catalog#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "dependencies": .object(["@id": "dependency", "@container": "@set"]),
        "dependencyGroups": .object(["@id": "dependencyGroup", "@container": "@set"]),
        "packageEntries": .object(["@id": "packageEntry", "@container": "@set"]),
        "packageTypes": .object(["@id": "packageType", "@container": "@set"]),
        "supportedFrameworks": .object(["@id": "supportedFramework", "@container": "@set"]),
        "tags": .object(["@id": "tag", "@container": "@set"]),
        "vulnerabilities": .object(["@id": "vulnerability", "@container": "@set"]),
        "published": .object(["@type": "xsd:dateTime"]),
        "created": .object(["@type": "xsd:dateTime"]),
        "lastEdited": .object(["@type": "xsd:dateTime"]),
        "catalog:commitTimeStamp": .object(["@type": "xsd:dateTime"]),
        "reasons": .object(["@container": "@set"]),
    ])
}
