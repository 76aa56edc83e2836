import Foundation
import NuGetCore
import ShelfFeed
import ShelfTestSupport
import Testing

@testable import ShelfSite

/// Golden files for the package site on SampleFeed/: the exact HTML, search index and badges.
/// Regenerate deliberately with `SHELF_UPDATE_GOLDEN=1 swift test --filter SiteGoldenTests`, then
/// review the diff.
struct SiteGoldenTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let root = here.deletingLastPathComponent().deletingLastPathComponent()
    static let golden = here.appendingPathComponent("Golden/SampleFeed")

    /// SampleFeed/ with its policy.
    static func sampleModel() throws -> FeedModel {
        let scanner = PackageScanner(root: root.appendingPathComponent("SampleFeed").path)
        let archives = try scanner.scan().packages.map { try PackageArchive.read(path: $0) }
        let policy = try FeedPolicy.load(path: root.appendingPathComponent("SampleFeed/shelf.json").path)
        return policy.apply(to: FeedModel(packages: archives, relativePath: scanner.relative)).model
    }

    static func documents() throws -> [FeedDocument] {
        let model = try sampleModel()
        let layout = FeedLayout(baseURL: "https://feed.example.com/")
        let site = SiteRenderer()
        return site.renderFeedWide(model, layout: layout)
            + site.renderIds(
                model, layout: layout, ids: Set(model.registrations.map(\.lowerId)), contents: PackageFileContents()
            ).values.flatMap { $0 }
    }

    @Test("SampleFeed: home page, package pages, search index and badges")
    func sampleFeed() throws {
        var docs: [String: Data] = [:]
        for d in try Self.documents() {
            // Only the lowercase pages: the other casings are aliases with the same bytes (checked below).
            if d.path.hasPrefix("packages/Shelf") { continue }
            docs[d.path] = try #require(try d.data())
        }
        // The service index a build with the site writes: it names the package pages.
        let layout = FeedLayout(baseURL: "https://feed.example.com/")
        docs["index.json"] = try ServiceIndexRenderer(
            layout: layout, packageDetailsTemplate: SiteRenderer().packageDetailsTemplate, vulnerabilityInfo: true
        ).render().data()
        try Golden.compare(docs, with: Self.golden)
    }

    @Test(
        "every per-id file of the site and of the feed is where, and named as, a build that lost its records looks for it"
    )
    func perIdFilesAreFoundBySweep() throws {
        let model = try Self.sampleModel()
        let renderer = FeedRenderer(layout: FeedLayout(baseURL: "https://feed.example.com/"), extras: [SiteRenderer()])
        let paths = renderer.renderIds(model.registrations, model: model, catalog: [:]).values.flatMap { $0 }.map(
            \.path)
        #expect(paths.count > 50)
        for path in paths {
            #expect(FeedLayout.isPerIdDocumentName(path), "\(path)")
        }
        for other in [
            "index.html", "search/query.json", "assets/site.css", "packages/NOTES.txt", "flatcontainer/x/NOTES.txt",
        ] {
            #expect(!FeedLayout.isPerIdDocumentName(other), "\(other)")
        }
    }

    @Test("every casing of a page has the same bytes as the lowercase page")
    func aliases() throws {
        let docs = try Self.documents()
        var byPath: [String: Data] = [:]
        for d in docs where d.path.hasPrefix("packages/") { byPath[d.path] = try d.data() }
        let aliases = byPath.keys.filter { $0 != $0.lowercased() }
        #expect(!aliases.isEmpty)
        for alias in aliases { #expect(byPath[alias] == byPath[alias.lowercased()], "\(alias)") }
    }

    @Test(
        "dependency ranges read as nuget.org shows them",
        arguments: [
            ("[1.0.0, )", "(>= 1.0.0)"), ("[1.0.0, 2.0.0)", "(>= 1.0.0 && < 2.0.0)"), ("[1.0.0]", "(= 1.0.0)"),
            ("(, )", "(any version)"), ("(1.0.0, )", "(> 1.0.0)"), ("(, 2.0.0]", "(<= 2.0.0)"),
        ])
    func ranges(text: String, shown: String) throws {
        let range = try #require(VersionRange(text))
        #expect(PackagePage.range(range) == shown)
    }
}
