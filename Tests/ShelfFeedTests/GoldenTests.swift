import Crypto
import Foundation
import ShelfTestSupport
import Testing

@testable import NuGetCore
@testable import ShelfFeed

/// Golden files: what a client receives, byte for byte (`Golden.compare`). Regenerate
/// deliberately with `SHELF_UPDATE_GOLDEN=1 swift test --filter GoldenTests`, then review the diff.
struct GoldenTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let goldenDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let baseURL = "https://feed.example.com/"

    /// Compares generated documents with `Golden/<name>/`.
    static func compare(_ docs: [String: Data], under name: String) throws {
        try Golden.compare(docs, with: goldenDir.appendingPathComponent(name))
    }

    /// The bytes of every document a sink would write, but copies of input packages (`.file`:
    /// the input itself, checked apart). Entries of packages are extracted; deferred documents
    /// and aliases are made.
    static func documents(_ docs: [FeedDocument]) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for d in docs {
            switch d.content {
            case .bytes, .deferred, .alias: out[d.path] = try d.data()
            case .packageEntry(let package, let entry, let limit):
                out[d.path] = try PackageArchive.extractEntry(entry, fromPackageAt: package, limit: limit)
            case .file: continue
            }
        }
        return out
    }

    @Test(
        "SampleFeed with its policy: service index, flat container, registration, search, autocomplete, catalog, vulnerability info"
    )
    func sampleFeed() throws {
        let scanner = PackageScanner(root: Self.root.appendingPathComponent("SampleFeed").path)
        let archives = try scanner.scan().packages.map { try PackageArchive.read(path: $0) }
        let plain = FeedModel(packages: archives, relativePath: scanner.relative)
        #expect(plain.diagnostics.isEmpty)
        // SampleFeed/shelf.json: owners, a reserved prefix, an unlisted version, deprecations and
        // vulnerabilities show in registration, search and VulnerabilityInfo.
        let policy = try FeedPolicy.load(path: Self.root.appendingPathComponent("SampleFeed/shelf.json").path)
        let model = policy.apply(to: plain).model
        let (catalog, added) = CatalogState().appending(model)
        let docs = FeedRenderer(
            layout: FeedLayout(baseURL: Self.baseURL), vulnerabilities: policy.vulnerabilityEntries(for: model)
        ).render(model, catalog: catalog, added: added)
        try Self.compare(Self.documents(docs), under: "SampleFeed")
        // The packages themselves are copies of the input files, under their normalized names.
        for d in docs {
            guard case .file(let source, let size, let sha512, _) = d.content else { continue }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
            #expect(Int64(bytes.count) == size && Data(SHA512.hash(data: bytes)).base64EncodedString() == sha512)
            #expect(d.path.hasSuffix(".nupkg") && d.path == d.path.lowercased(), "\(d.path)")
        }
    }

    @Test("each host's configuration, with and without --gzip where the host can serve it (golden)")
    func hostConfigurations() throws {
        var docs: [String: Data] = [:]
        let layout = FeedLayout(baseURL: Self.baseURL + "nuget/")
        for host in WebHost.allCases {
            for gzip in host.servesStoredGzip ? [false, true] : [false] {
                let name = host.rawValue + (gzip ? "-gzip" : "")
                for d in HostConfigRenderer(host: host, gzip: gzip).renderFeedWide([], layout: layout) {
                    docs[name + "/" + d.path] = try d.data()
                }
            }
        }
        try Self.compare(docs, under: "Hosts")
    }

    static func nuspec(_ version: String) throws -> Nuspec {
        try Nuspec(
            data: Data(
                "<package><metadata><id>Paged.Package</id><version>\(version)</version><authors>a</authors><description>d</description></metadata></package>"
                    .utf8))
    }

    static func registration(versionCount: Int) throws -> PackageRegistration {
        var versions: [PackageVersion] = []
        for i in 0..<versionCount {
            let n = try nuspec("1.\(i / 10).\(i % 10)")
            let archive = PackageArchive(
                path: "/in/p\(i).nupkg", size: 100, sha512: "x", nuspec: n, nuspecEntry: "Paged.Package.nuspec",
                packedAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(i) * 3600), isSigned: false,
                signerFingerprint: nil, icon: nil,
                readme: nil, licenseFile: nil, warnings: [])
            versions.append(PackageVersion(archive: archive, listed: true))
        }
        return PackageRegistration(lowerId: "paged.package", id: "Paged.Package", versions: versions)
    }

    @Test("an id with 130 versions: external pages of 64, 64 and 2 (golden)")
    func pagedRegistration() throws {
        let renderer = RegistrationRenderer(layout: FeedLayout(baseURL: Self.baseURL), hive: .semVer2)
        let docs = renderer.render(try Self.registration(versionCount: 130))
        let pages = docs.filter { $0.path.contains("/page/") }
        #expect(
            pages.map(\.path).sorted() == [
                "registration-semver2/paged.package/page/1.0.0/1.6.3.json",
                "registration-semver2/paged.package/page/1.12.8/1.12.9.json",
                "registration-semver2/paged.package/page/1.6.4/1.12.7.json",
            ])
        // The index and the external pages; leaves are the same shape as SampleFeed's.
        try Self.compare(
            try Self.documents(docs.filter { $0.path.hasSuffix("/index.json") || $0.path.contains("/page/") }),
            under: "Paged")
    }

    @Test(
        "paging threshold: 127 versions inline in one page, 128 in external pages",
        arguments: [(127, true, 1), (128, false, 2)])
    func threshold(count: Int, inline: Bool, pages: Int) throws {
        let renderer = RegistrationRenderer(layout: FeedLayout(baseURL: Self.baseURL), hive: .semVer1)
        let docs = renderer.render(try Self.registration(versionCount: count))
        let index = try #require(docs.first { $0.path.hasSuffix("/index.json") })
        guard case .bytes(let data) = index.content else { Issue.record("index is not bytes"); return }
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let items = try #require(json["items"] as? [[String: Any]])
        #expect(items.count == pages)
        #expect(items.allSatisfy { ($0["items"] != nil) == inline })
        #expect(docs.contains { $0.path.contains("/page/") } == !inline)
    }
}
