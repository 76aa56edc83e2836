import Foundation
import ShelfTestSupport
import Testing

@testable import NuGetCore
@testable import ShelfFeed

/// Shelf's catalog leaves against nuget.org's own, for the same packages: NuGetGallery keeps
/// pairs of a package and the leaf its catalog writer made from it (`tests/CatalogTests/TestData`,
/// gathered into `Tests/Fixtures/nuget-catalog/` by `scripts/gather-fixtures.py`). For every pair
/// whose package Shelf accepts, the leaves hold the same members in the same order with the same
/// values, but for those that say where and when the leaf was written (`differing`); addresses
/// inside the leaf (fragment ids) are compared after the leaf's own address.
struct NuGetCatalogFidelityTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/nuget-catalog")

    /// Members that must differ: the leaf's address (its catalog and time), the commit, and the
    /// times nuget.org takes from its database (Shelf takes them from the package and its history).
    static let differing: Set<String> = [
        "@id", "catalog:commitId", "catalog:commitTimeStamp", "created", "lastEdited", "published",
    ]

    /// The packages Shelf refuses, and why: nuget.org's own upload refuses them too (NuGetGallery
    /// `ManifestValidator`: `Manifest_InvalidDependency`, a range that does not parse;
    /// `PackageUploadService`: `UploadPackage_PackageContainsDuplicatedEntries`), though its catalog
    /// writer is tested on them.
    static let refused: [String: String] = [
        "DependencyMissingId.0.1.0": "a dependency without an id",
        "EmptyDependencyId.0.1.0": "a dependency without an id",
        "EmptyDependencyIdWithGroups.0.1.0": "a dependency without an id",
        "OneValidDependencyOneEmptyId.0.1.0": "a dependency without an id",
        "OneValidDependencyOneEmptyIdWithGroups.0.1.0": "a dependency without an id",
        "WhitespaceDependencyId.0.1.0": "a dependency without an id",
        "InvalidDependencyVersionRange.0.1.0": "a dependency version that is not a range",
        "DuplicateLibFilesDifferentPathSeparators": "two zip entries with one name",
        "DuplicateReadmeFiles": "two zip entries with one name",
        "RepositoryServiceableDevDependency": "two zip entries with one name ('/' and '\\' separators)",
    ]

    static var pairs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".nupkg") && !$0.hasSuffix(".dedup.nupkg") }.map {
                String($0.dropLast(".nupkg".count))
            }.sorted()
    }

    /// The packages refused for a repeated zip entry, as `scripts/gather-fixtures.py` made them
    /// again without it (`<name>.dedup.nupkg`): their members made from the nuspec (repository,
    /// serviceable, developmentDependency, readmeFile, ...) are compared with nuget.org's leaf
    /// of the original, all but those made from the zip's bytes.
    static let withoutRepeats = [
        "DuplicateLibFilesDifferentPathSeparators", "DuplicateReadmeFiles", "RepositoryServiceableDevDependency",
    ]
    static let madeFromBytes: Set<String> = ["packageEntries", "packageHash", "packageSize"]

    @Test("the fixtures hold NuGetGallery's catalog test pairs")
    func pairsArePresent() {
        #expect(Self.pairs.count == 28, "\(Self.pairs)")
        for name in Self.refused.keys { #expect(Self.pairs.contains(name), "\(name)") }
    }

    @Test("a catalog leaf is nuget.org's, member for member, for every package Shelf accepts", arguments: pairs)
    func leafMatchesNuGetOrg(_ name: String) throws {
        try Self.compare(name, package: name + ".nupkg")
    }

    @Test(
        "a package refused for a repeated entry, made again without it: the members its nuspec makes are nuget.org's",
        arguments: withoutRepeats)
    func repeatedEntryRemoved(_ name: String) throws {
        #expect(Self.refused[name] != nil)
        try Self.compare(name, package: name + ".dedup.nupkg", excluding: Self.madeFromBytes)
    }

    /// Shelf's leaf of `package` against nuget.org's leaf `<name>.json`, but for `excluding`.
    static func compare(
        _ name: String, package file: String, excluding: Set<String> = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let package = folder.appendingPathComponent(file).path
        let expectedText = try String(contentsOf: folder.appendingPathComponent(name + ".json"), encoding: .utf8)
        let refused = excluding.isEmpty ? Self.refused : [:]
        let archive: PackageArchive
        do {
            archive = try PackageArchive.read(path: package)
        } catch {
            #expect(refused[name] != nil, "Shelf refuses \(name): \(error)")
            return
        }
        let model = FeedModel(packages: [archive], relativePath: { $0 })
        guard model.registrations.count == 1 else {
            #expect(refused[name] != nil, "Shelf refuses \(name): \(model.diagnostics)")
            return
        }
        #expect(
            refused[name] == nil, "\(name) is accepted, but the test expects it refused: \(refused[name]!)")
        let (catalog, added) = CatalogState().appending(model)
        let layout = FeedLayout(baseURL: "https://feed.example.com/")
        let docs = CatalogRenderer(layout: layout).render(state: catalog, added: added, model: model)
        let leaf = try #require(docs.first { $0.path.hasPrefix("catalog/data/") })
        let actualText = String(decoding: try #require(try leaf.data()), as: UTF8.self)

        let expected = try comparable(expectedText, excluding: excluding)
        let actual = try comparable(actualText, excluding: excluding)
        #expect(
            actual.order == expected.order, "\(name): members in another order", sourceLocation: sourceLocation)
        for key in Set(expected.members.keys).union(actual.members.keys).sorted() {
            #expect(
                actual.members[key] == expected.members[key],
                "\(name): \(key): Shelf wrote \(actual.members[key].map(String.init(describing:)) ?? "nothing"), nuget.org \(expected.members[key].map(String.init(describing:)) ?? "nothing")"
            )
        }
    }

    /// A leaf's members but the differing ones, by name, with the leaf's address in every value
    /// replaced by `<leaf>`; and their order.
    static func comparable(_ text: String, excluding: Set<String> = []) throws -> (
        order: [String], members: [String: NSObject]
    ) {
        let differing = Self.differing.union(excluding)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let leafURL = try #require(object["@id"] as? String)
        func masked(_ value: Any) -> Any {
            switch value {
            case let s as String:
                return s.lowercased().hasPrefix(leafURL.lowercased()) ? "<leaf>" + s.dropFirst(leafURL.count) : s
            case let list as [Any]: return list.map(masked)
            case let object as [String: Any]: return object.mapValues(masked)
            default: return value
            }
        }
        var members: [String: NSObject] = [:]
        for (key, value) in object where !differing.contains(key) { members[key] = masked(value) as? NSObject }
        return (topLevelKeys(text).filter { !differing.contains($0) }, members)
    }

    /// The names of a pretty-printed JSON object's own members, in order (both writers indent
    /// by two spaces).
    static func topLevelKeys(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line in
            guard line.hasPrefix("  \""), !line.hasPrefix("   ") else { return nil }
            let rest = line.dropFirst(3)
            return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
        }
    }
}
