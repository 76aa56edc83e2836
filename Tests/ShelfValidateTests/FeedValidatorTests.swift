import Crypto
import Foundation
import Testing

@testable import ShelfValidate

/// A small V3 feed written by hand (not by Shelf): the validator must pass it as it is, and find
/// each defect it claims to find when one is put in.
struct FeedFixture {
    static let base = "https://feed.example.com/"
    let root: String

    /// `alpha` 1.0.0 and 2.0.0-beta.1 (SemVer 2.0.0: only in the second hive), `beta` 0.1.0.
    static let ids: [(id: String, versions: [String])] = [("alpha", ["1.0.0", "2.0.0-beta.1"]), ("beta", ["0.1.0"])]

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("validate-\(UUID().uuidString)").path
        try write(
            "index.json",
            json([
                "version": "3.0.0",
                "resources": [
                    ["@id": Self.base + "flatcontainer/", "@type": "PackageBaseAddress/3.0.0"],
                    ["@id": Self.base + "registration/", "@type": "RegistrationsBaseUrl"],
                    ["@id": Self.base + "registration-semver2/", "@type": ["RegistrationsBaseUrl/3.6.0"]],
                    ["@id": Self.base + "autocomplete.json", "@type": "SearchAutocompleteService"],
                ],
            ]))
        try write("autocomplete.json", json(["data": Self.ids.map(\.id)]))
        for (id, versions) in Self.ids {
            try write("flatcontainer/\(id)/index.json", json(["versions": versions]))
            for v in versions {
                let package = Data("package \(id) \(v)".utf8)
                try write("flatcontainer/\(id)/\(v)/\(id).\(v).nupkg", package)
                try write(
                    "flatcontainer/\(id)/\(v)/\(id).\(v).nupkg.sha512",
                    Data(Data(SHA512.hash(data: package)).base64EncodedString().utf8))
                try write("flatcontainer/\(id)/\(v)/\(id).nuspec", Self.nuspec(id, v))
            }
            for hive in ["registration", "registration-semver2"] {
                let listed = hive == "registration" ? versions.filter { !$0.contains("-") } : versions
                try writeRegistration(hive, id, listed)
            }
        }
    }

    static func nuspec(_ id: String, _ version: String) -> Data {
        Data(
            """
            <?xml version="1.0" encoding="utf-8"?>
            <package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
              <metadata><id>\(id)</id><version>\(version)</version><authors>a</authors><description>d</description></metadata>
            </package>
            """.utf8)
    }

    func writeRegistration(_ hive: String, _ id: String, _ versions: [String], inline: Bool = true) throws {
        let leaves: [[String: Any]] = versions.map { v in
            [
                "@id": Self.base + "\(hive)/\(id)/\(v).json",
                "catalogEntry": ["id": id, "version": v],
                "packageContent": Self.base + "flatcontainer/\(id)/\(v)/\(id).\(v).nupkg",
            ]
        }
        for v in versions { try write("\(hive)/\(id)/\(v).json", json(["@id": Self.base + "\(hive)/\(id)/\(v).json"])) }
        guard !versions.isEmpty else { return }
        let page: [String: Any] = [
            "@id": Self.base + "\(hive)/\(id)/" + (inline ? "index.json#page" : "page/all.json"),
            "count": versions.count, "items": leaves,
        ]
        if inline {
            try write("\(hive)/\(id)/index.json", json(["count": 1, "items": [page]]))
        } else {
            try write("\(hive)/\(id)/page/all.json", json(page))
            try write(
                "\(hive)/\(id)/index.json",
                json(["count": 1, "items": [["@id": page["@id"]!, "count": versions.count]]]))
        }
    }

    func json(_ object: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    func write(_ path: String, _ data: Data) throws {
        let url = URL(fileURLWithPath: root + "/" + path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    func remove(_ path: String) throws { try FileManager.default.removeItem(atPath: root + "/" + path) }

    func read(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: root + "/" + path)) }

    func cleanup() { try? FileManager.default.removeItem(atPath: root) }

    /// The validator's report on the folder.
    func validate() async -> FeedValidator.Report {
        await FeedValidator(target: root).run()
    }

    /// The validator's report over "HTTP" (the folder served by `FolderTransport`).
    func validateOverHTTP(_ transport: FolderTransport) async -> FeedValidator.Report {
        await FeedValidator(target: Self.base + "index.json", baseURL: nil, concurrency: 4, transport: transport).run()
    }
}

/// Serves a fixture's folder at its base URL, as a plain static host would, or with a fault.
struct FolderTransport: HTTPTransport {
    let fixture: FeedFixture
    /// Paths sent as their bytes gzip-compressed, without `Content-Encoding`.
    var gzipWithoutEncoding: Set<String> = []
    /// Answer HEAD with this status (an object store that allows only GET).
    var headStatus: Int?

    func send(method: String, url: URL, range: String?) async throws -> HTTPResponse {
        let path = String(url.absoluteString.dropFirst(FeedFixture.base.count).prefix { $0 != "?" })
        if method == "HEAD", let headStatus { return HTTPResponse(status: headStatus, body: Data()) }
        guard let data = try? fixture.read(path) else { return HTTPResponse(status: 404, body: Data()) }
        if gzipWithoutEncoding.contains(path) {
            return HTTPResponse(status: 200, body: Data([0x1F, 0x8B, 8, 0]) + data)
        }
        return HTTPResponse(status: 200, body: method == "HEAD" ? Data() : data)
    }
}

extension HTTPResponse {
    init(status: Int, body: Data) { self.init(status: status, contentEncoding: nil, body: body) }
}

@Suite("shelf validate: each defect it claims to find")
struct FeedValidatorTests {
    typealias Kind = FeedValidator.Problem.Kind

    @Test("a feed written by hand, not by Shelf, passes from the folder and over HTTP")
    func goodFeed() async throws {
        let feed = try FeedFixture()
        defer { feed.cleanup() }
        let report = await feed.validate()
        #expect(report.problems == [], "\(report.problems)")
        #expect(report.ids == 2 && report.versions == 3 && report.packagesHashed == 3)
        let http = await feed.validateOverHTTP(FolderTransport(fixture: feed))
        #expect(http.problems == [], "\(http.problems)")
        #expect(http.ids == 2 && http.versions == 3)
    }

    /// One defect each: what is done to the feed, and the problem the validator must report.
    struct Defect: CustomTestStringConvertible, Sendable {
        var name: String
        var kind: Kind
        var location: String
        var warning = false
        var damage: @Sendable (FeedFixture) throws -> Void
        var testDescription: String { name }
    }

    static let defects: [Defect] = [
        Defect(name: "no service index", kind: .noServiceIndex, location: "") { try $0.remove("index.json") },
        Defect(name: "a document that is not JSON", kind: .notJSON, location: "flatcontainer/beta/index.json") {
            try $0.write("flatcontainer/beta/index.json", Data("{ not json".utf8))
        },
        Defect(
            name: "a service index from which the folder's layout cannot be told", kind: .unknownLayout, location: ""
        ) {
            try $0.write("index.json", $0.json(["resources": [["@id": "x", "@type": "SearchQueryService"]]]))
        },
        Defect(name: "no registration hive", kind: .noRegistration, location: "index.json", warning: true) {
            try $0.write(
                "index.json",
                $0.json([
                    "resources": [["@id": FeedFixture.base + "flatcontainer/", "@type": "PackageBaseAddress/3.0.0"]]
                ]))
        },
        Defect(name: "an id folder that is not lowercase", kind: .folderNotLowercase, location: "id Gamma") {
            try $0.write("flatcontainer/Gamma/index.json", $0.json(["versions": ["1.0.0"]]))
        },
        Defect(name: "a flat container index that lists nothing", kind: .noVersions, location: "id beta") {
            try $0.write("flatcontainer/beta/index.json", $0.json(["versions": [String]()]))
        },
        Defect(name: "a version that is not normalized", kind: .versionNotNormalized, location: "beta 0.1") {
            try $0.write("flatcontainer/beta/index.json", $0.json(["versions": ["0.1.0", "0.1"]]))
        },
        Defect(name: "a registration with no flat container folder", kind: .documentUnreadable, location: "orphan") {
            try $0.writeRegistration("registration-semver2", "orphan", ["1.0.0"])
        },
        Defect(name: "a missing package", kind: .packageUnreadable, location: "beta 0.1.0") {
            try $0.remove("flatcontainer/beta/0.1.0/beta.0.1.0.nupkg")
        },
        Defect(name: "a package whose bytes changed", kind: .hashMismatch, location: "beta 0.1.0") {
            try $0.write("flatcontainer/beta/0.1.0/beta.0.1.0.nupkg", Data("other bytes".utf8))
        },
        Defect(name: "no .nupkg.sha512", kind: .hashMissing, location: "beta 0.1.0") {
            try $0.remove("flatcontainer/beta/0.1.0/beta.0.1.0.nupkg.sha512")
        },
        Defect(name: "no nuspec", kind: .nuspecUnreadable, location: "beta 0.1.0") {
            try $0.remove("flatcontainer/beta/0.1.0/beta.nuspec")
        },
        Defect(name: "a nuspec that is not XML", kind: .nuspecInvalid, location: "beta 0.1.0") {
            try $0.write("flatcontainer/beta/0.1.0/beta.nuspec", Data("<package>".utf8))
        },
        Defect(name: "a nuspec of another version", kind: .nuspecMismatch, location: "beta 0.1.0") {
            try $0.write("flatcontainer/beta/0.1.0/beta.nuspec", FeedFixture.nuspec("beta", "0.2.0"))
        },
        Defect(name: "a registration version with no package", kind: .onlyInRegistration, location: "beta 0.3.0") {
            try $0.writeRegistration("registration", "beta", ["0.1.0", "0.3.0"])
        },
        Defect(name: "a package the registration does not list", kind: .onlyInFlatContainer, location: "alpha 1.0.0") {
            try $0.writeRegistration("registration", "alpha", ["2.0.0-beta.1"])
        },
        Defect(
            name: "a SemVer 2.0.0 version in the SemVer 1.0.0 hive", kind: .semVer2InSemVer1Hive,
            location: "alpha 2.0.0-beta.1"
        ) {
            try $0.writeRegistration("registration", "alpha", ["1.0.0", "2.0.0-beta.1"])
        },
        Defect(
            name: "a SemVer 2.0.0 version in a feed's only hive", kind: .semVer2InOnlyHive, location: "alpha",
            warning: true
        ) {
            try $0.write(
                "index.json",
                $0.json([
                    "resources": [
                        ["@id": FeedFixture.base + "flatcontainer/", "@type": "PackageBaseAddress/3.0.0"],
                        ["@id": FeedFixture.base + "registration-semver2/", "@type": "RegistrationsBaseUrl"],
                        ["@id": FeedFixture.base + "registration-semver2/", "@type": "RegistrationsBaseUrl/3.6.0"],
                    ]
                ]))
        },
        Defect(name: "a registration item without a version", kind: .itemWithoutVersion, location: "beta") {
            try $0.write(
                "registration/beta/index.json",
                $0.json(["items": [["@id": "p", "items": [["catalogEntry": ["id": "beta"]]]]]]))
        },
        Defect(name: "a leaf link that leads nowhere", kind: .brokenLeaf, location: "beta 0.1.0") {
            try $0.remove("registration/beta/0.1.0.json")
        },
        Defect(name: "a packageContent link that leads nowhere", kind: .brokenPackageContent, location: "beta 0.1.0") {
            try $0.remove("flatcontainer/beta/0.1.0/beta.0.1.0.nupkg")
        },
        Defect(name: "an external page that is gone", kind: .documentUnreadable, location: "page/all.json") {
            try $0.writeRegistration("registration-semver2", "beta", ["0.1.0"], inline: false)
            try $0.remove("registration-semver2/beta/page/all.json")
        },
        Defect(name: "a registration index stored gzip-compressed", kind: .storedGzip, location: "beta", warning: true)
        {
            let index = try $0.read("registration/beta/index.json")
            try $0.write("registration/beta/index.json", Data([0x1F, 0x8B, 8, 0]) + index)
        },
    ]

    @Test("a folder with one defect: the validator names it", arguments: defects)
    func defect(_ defect: Defect) async throws {
        let feed = try FeedFixture()
        defer { feed.cleanup() }
        try defect.damage(feed)
        let report = await feed.validate()
        let found = report.problems.filter {
            $0.kind == defect.kind && (defect.location.isEmpty || $0.location.contains(defect.location))
        }
        #expect(!found.isEmpty, "\(defect.name): \(report.problems)")
        #expect(found.allSatisfy { $0.severity == (defect.warning ? .warning : .error) }, "\(found)")
        #expect((report.errors > 0) == !defect.warning, "\(report.problems)")
    }

    @Test("over HTTP: gzip bytes without Content-Encoding are an error; a host refusing HEAD is asked for a byte")
    func http() async throws {
        let feed = try FeedFixture()
        defer { feed.cleanup() }
        var transport = FolderTransport(fixture: feed)
        transport.gzipWithoutEncoding = ["registration-semver2/beta/index.json"]
        let report = await feed.validateOverHTTP(transport)
        #expect(
            report.problems.map(\.kind) == [.gzipWithoutEncoding]
                && report.problems[0].location.hasSuffix("registration-semver2/beta/index.json"),
            "\(report.problems)")

        var noHead = FolderTransport(fixture: feed)
        noHead.headStatus = 403
        #expect(await feed.validateOverHTTP(noHead).problems == [])

        // Over HTTP the ids come from autocomplete (or search); with neither, only the service index is checked.
        try feed.write("index.json", feed.json(["resources": [["@id": "x", "@type": "PackageBaseAddress/3.0.0"]]]))
        let blind = await feed.validateOverHTTP(FolderTransport(fixture: feed))
        #expect(blind.problems.map(\.kind).contains(.noIdList), "\(blind.problems)")
    }

    @Test("with --base-url: a service index without PackageBaseAddress, a flat container folder that is missing")
    func givenBase() async throws {
        let feed = try FeedFixture()
        defer { feed.cleanup() }
        try feed.remove("flatcontainer")
        let missing = await FeedValidator(target: feed.root, baseURL: FeedFixture.base).run()
        #expect(missing.problems.map(\.kind) == [.flatContainerMissing], "\(missing.problems)")
        try feed.write("index.json", feed.json(["resources": [["@id": "x", "@type": "SearchQueryService"]]]))
        let none = await FeedValidator(target: feed.root, baseURL: FeedFixture.base).run()
        #expect(none.problems.map(\.kind) == [.noPackageBaseAddress], "\(none.problems)")
    }

    @Test("a service index whose @type is an array, as NuGet.Client also accepts, is read")
    func typeArrays() throws {
        let data = Data(
            #"{"resources":[{"@id":"a","@type":["PackageBaseAddress/3.0.0","Other"]},{"@id":7,"@type":"X"},"junk"]}"#
                .utf8)
        let index = try JSONDecoder().decode(FeedDocuments.ServiceIndex.self, from: data)
        #expect(index.byType == ["PackageBaseAddress/3.0.0": "a", "Other": "a"])
    }
}
