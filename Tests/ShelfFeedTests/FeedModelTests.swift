import Foundation
import ShelfTestSupport
import Testing

@testable import NuGetCore
@testable import ShelfFeed

struct FeedModelTests {
    static func archive(_ id: String, _ version: String, path: String, signed: Bool = false, packed: Double = 0) throws
        -> PackageArchive
    {
        let nuspec = try Nuspec(
            data: Data("<package><metadata><id>\(id)</id><version>\(version)</version></metadata></package>".utf8))
        return PackageArchive(
            path: path, size: 1, sha512: path, nuspec: nuspec, nuspecEntry: "\(id).nuspec",
            packedAt: Date(timeIntervalSince1970: 1_600_000_000 + packed), isSigned: signed, signerFingerprint: nil,
            icon: nil, readme: nil,
            licenseFile: nil, warnings: [])
    }

    @Test("the same id and version in several files: one kept, chosen from the files alone, the others reported")
    func duplicates() throws {
        let packages = [
            try Self.archive("Acme.Core", "1.0.01", path: "/in/Acme.Core.1.0.01.nupkg"),
            try Self.archive("Acme.Core", "1.0.1+ace8cda", path: "/in/Acme.Core.1.0.1+ace8cda.nupkg"),
            try Self.archive("Signed", "2.0", path: "/in/b.nupkg", signed: true),
            try Self.archive("Signed", "2.0.0", path: "/in/a.nupkg", packed: 100),
            try Self.archive("Newer", "1.0", path: "/in/a.nupkg", packed: 0),
            try Self.archive("Newer", "1.0", path: "/in/z.nupkg", packed: 50),
        ]
        var kept: [String]?
        var rng = SeededRandom(seed: 31)
        for order in [packages, packages.reversed(), packages.shuffled(using: &rng)] {
            let model = FeedModel(packages: order)
            let paths = model.registrations.flatMap { $0.versions.map(\.archive.path) }
            if let kept { #expect(paths == kept) } else { kept = paths }
            #expect(model.diagnostics.count == 3)
            #expect(model.diagnostics.allSatisfy { $0.severity == .warning && $0.file != nil })
        }
        #expect(kept == ["/in/Acme.Core.1.0.01.nupkg", "/in/z.nupkg", "/in/b.nupkg"])
    }

    @Test("an id in several casings: one registration, shown in the casing of its highest version, reported")
    func casings() throws {
        let model = FeedModel(packages: [
            try Self.archive("contoso.utility", "1.0.0", path: "/in/1.nupkg"),
            try Self.archive("Contoso.Utility", "2.0.0", path: "/in/2.nupkg"),
            try Self.archive("CONTOSO.UTILITY", "1.5.0", path: "/in/3.nupkg"),
        ])
        #expect(model.registrations.count == 1)
        #expect(model.registrations[0].id == "Contoso.Utility")
        #expect(model.registrations[0].lowerId == "contoso.utility")
        #expect(model.registrations[0].versions.map(\.lowerVersion) == ["1.0.0", "1.5.0", "2.0.0"])
        #expect(model.diagnostics.count == 1)
        #expect(model.diagnostics[0].message.contains("3 casings"))
    }

    @Test("versions are in NuGet order, SemVer 2.0.0 versions only in the hive that includes them")
    func hives() throws {
        let model = FeedModel(
            packages: try ["1.0.0", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-alpha", "0.9"].enumerated().map {
                try Self.archive("P", $1, path: "/in/\($0).nupkg")
            })
        let r = model.registrations[0]
        #expect(r.versions.map(\.lowerVersion) == ["0.9.0", "1.0.0-alpha", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0"])
        let layout = FeedLayout(baseURL: "https://x/")
        #expect(
            RegistrationRenderer(layout: layout, hive: .semVer1).versions(of: r).map(\.lowerVersion) == [
                "0.9.0", "1.0.0-alpha", "1.0.0",
            ])
        #expect(RegistrationRenderer(layout: layout, hive: .semVer2).versions(of: r).count == 5)
    }
}
