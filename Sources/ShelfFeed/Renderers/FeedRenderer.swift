import Foundation
import NuGetCore

/// A renderer that lives outside this module (the package site, a host's configuration).
public protocol FeedDocumentRenderer: Sendable {
    /// The documents of each id in `ids` (lowercase), by id. `model` holds at least those ids;
    /// `model.presentIds` is every id in the feed. What a page shows from inside a package (its
    /// README) comes from `contents`: a renderer never opens a file itself.
    func renderIds(_ model: FeedModel, layout: FeedLayout, ids: Set<String>, contents: any PackageContents)
        -> [String: [FeedDocument]]
    /// What this renderer's feed-wide documents need of one id, by key (kept in its `IdDigest`).
    func digestParts(_ r: PackageRegistration, layout: FeedLayout) -> [String: [UInt8]]
    /// The documents of the feed as a whole, from every id's digest, in id order.
    func renderFeedWide(_ digests: [IdDigest], layout: FeedLayout) -> [FeedDocument]
    /// `PackageDetailsUriTemplate/5.1.0`, relative to the base URL, if this renderer writes
    /// package pages.
    var packageDetailsTemplate: String? { get }
}

extension FeedDocumentRenderer {
    public func digestParts(_ r: PackageRegistration, layout: FeedLayout) -> [String: [UInt8]] { [:] }

    /// The feed-wide documents of a whole model.
    public func renderFeedWide(_ model: FeedModel, layout: FeedLayout) -> [FeedDocument] {
        renderFeedWide(
            model.registrations.map { IdDigest($0, parts: digestParts($0, layout: layout)) }, layout: layout)
    }
}

/// What renderers show from inside a package, read for them. The build hands renderers a reader
/// of the input package files; tests hand them fixed bytes. Reading happens when a deferred
/// document is written, so that a build never holds every README of a batch in memory.
public protocol PackageContents: Sendable {
    /// The README a version embeds; nil when it has none, or it cannot be read now (the file
    /// changed since it was read: the page then shows the description instead).
    func readme(of version: PackageVersion) -> Data?
}

/// The input packages' own entries, extracted (and CRC-checked) from the package files.
public struct PackageFileContents: PackageContents {
    public init() {}

    public func readme(of version: PackageVersion) -> Data? {
        guard let entry = version.archive.readme else { return nil }
        return try? PackageArchive.extractEntry(
            entry.entry, fromPackageAt: version.archive.path, limit: PackageArchive.maxEmbeddedFileSize)
    }
}

/// All renderers together: the whole feed as documents. Pure: the model in, documents out (path,
/// bytes or how to make them, content type, phase); no renderer touches the disk or the state.
public struct FeedRenderer: Sendable {
    public let layout: FeedLayout
    public let extras: [any FeedDocumentRenderer]
    /// Advisories for `VulnerabilityInfo/6.7.0`; nil: the feed offers no vulnerability data.
    public let vulnerabilities: [VulnerabilityEntry]?
    /// `--gzip`: the registration documents (both hives) stored gzip-compressed.
    public let gzipRegistrations: Bool
    public let contents: any PackageContents

    public init(
        layout: FeedLayout, extras: [any FeedDocumentRenderer] = [], vulnerabilities: [VulnerabilityEntry]? = nil,
        gzipRegistrations: Bool = false, contents: any PackageContents = PackageFileContents()
    ) {
        self.layout = layout
        self.extras = extras
        self.vulnerabilities = vulnerabilities
        self.gzipRegistrations = gzipRegistrations
        self.contents = contents
    }

    /// The documents of these ids (flat container, both registration hives, and the extras'),
    /// by lowercase id. Rendered on all cores; each id's extras see a model of that id alone
    /// (with the feed's ids), so that none walks the whole batch. `catalog`: each id's catalog
    /// leaves and commits (`CatalogState.links`), which its registration links.
    public func renderIds(
        _ registrations: [PackageRegistration], model: FeedModel, catalog: [String: CatalogLinks]
    ) -> [String: [FeedDocument]] {
        let flat = FlatContainerRenderer()
        let semver1 = RegistrationRenderer(layout: layout, hive: .semVer1)
        let semver2 = RegistrationRenderer(layout: layout, hive: .semVer2)
        let rendered = Parallel.map(registrations, pieces: 8) { r -> (String, [FeedDocument]) in
            let links = catalog[r.lowerId] ?? CatalogLinks()
            var docs = flat.render(r) + semver1.render(r, catalog: links) + semver2.render(r, catalog: links)
            let alone = FeedModel(registrations: [r], diagnostics: [], presentIds: model.presentIds)
            for extra in extras {
                docs += extra.renderIds(alone, layout: layout, ids: [r.lowerId], contents: contents)[r.lowerId] ?? []
            }
            if gzipRegistrations { docs = docs.map(Self.gzippedIfRegistration) }
            return (r.lowerId, docs)
        }
        return Dictionary(rendered, uniquingKeysWith: +)
    }

    /// What every feed-wide renderer needs of one id.
    public func digest(_ r: PackageRegistration) -> IdDigest { Self.digest(r, extras: extras, layout: layout) }

    /// What the feed-wide renderers need of one id, with these extras.
    public static func digest(
        _ r: PackageRegistration, extras: [any FeedDocumentRenderer], layout: FeedLayout
    ) -> IdDigest {
        var parts: [String: [UInt8]] = [:]
        for extra in extras { parts.merge(extra.digestParts(r, layout: layout)) { a, _ in a } }
        return IdDigest(r, parts: parts)
    }

    /// The documents of the feed as a whole, from every id's digest (in id order): search,
    /// autocomplete, the catalog (leaves of this build's items, which are all in `model`, pages
    /// from `keepCatalogPagesBefore` on, the index), vulnerability info, the extras' feed-wide
    /// documents, and the service index.
    public func renderFeedWide(
        _ digests: [IdDigest], shown: [String: PackageRegistration], model: FeedModel, catalog: CatalogState,
        added: Int, keepCatalogPagesBefore: Int = 0
    ) -> [FeedDocument] {
        let layout = layout
        var parts: [@Sendable () -> [FeedDocument]] = [
            { SearchRenderer(layout: layout).render(digests, shown: shown) },
            {
                CatalogRenderer(layout: layout).render(
                    state: catalog, added: added, model: model, keepPagesBefore: keepCatalogPagesBefore)
            },
        ]
        if let vulnerabilities {
            parts.append {
                let newest = digests.map(\.newest).max() ?? Date(timeIntervalSince1970: 0)
                return VulnerabilityInfoRenderer(layout: layout).render(
                    vulnerabilities, updated: CatalogTime.string(CatalogTime.ticks(newest)))
            }
        }
        for extra in extras { parts.append { extra.renderFeedWide(digests, layout: layout) } }
        // Independent of each other: rendered side by side, then put in a fixed order.
        var docs = Parallel.run(parts).flatMap { $0 }
        let template = extras.lazy.compactMap(\.packageDetailsTemplate).first
        docs.append(
            ServiceIndexRenderer(
                layout: layout, packageDetailsTemplate: template, vulnerabilityInfo: vulnerabilities != nil
            ).render())
        return docs
    }

    /// Every document of the feed (for tests and golden files).
    public func render(_ model: FeedModel, catalog: CatalogState, added: Int) -> [FeedDocument] {
        let links = catalog.links(for: Set(model.registrations.map(\.lowerId)))
        return renderIds(model.registrations, model: model, catalog: links).sorted { $0.key < $1.key }.flatMap(\.value)
            + renderFeedWide(
                model.registrations.map(digest),
                shown: Dictionary(uniqueKeysWithValues: model.registrations.map { ($0.lowerId, $0) }), model: model,
                catalog: catalog, added: added)
    }

    /// A document of either registration hive stored gzip-compressed under its own name
    /// (`--gzip`); any other document as it is.
    static func gzippedIfRegistration(_ doc: FeedDocument) -> FeedDocument {
        guard doc.path.hasPrefix(FeedLayout.registrationSemVer1) || doc.path.hasPrefix(FeedLayout.registrationSemVer2)
        else { return doc }
        var out = doc
        switch doc.content {
        case .bytes(let data): out.content = .bytes(Gzip.compress(data))
        case .deferred(let make): out.content = .deferred { Gzip.compress(try make()) }
        case .alias(let of, let make): out.content = .alias(of: of) { Gzip.compress(try make()) }
        case .file, .packageEntry: break
        }
        return out
    }
}
