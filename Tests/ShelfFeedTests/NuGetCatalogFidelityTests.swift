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

/// What nuget.org's catalog writer decides from a nuspec (`nuspec.xslt`, `Utils.SplitTags`), for
/// cases NuGetGallery's test pairs do not hold: one row per rule.
struct CatalogLeafRuleTests {
    static let leafURL = "https://Feed.example.com/catalog/data/2024.01.01.00.00.00.0000000/rule.package.1.0.0.json"

    /// The leaf of a package whose nuspec has `metadata` besides id, version, authors and description.
    static func leaf(_ metadata: String) throws -> [String: Any] {
        let nuspec = try Nuspec(
            data: Data(
                "<package><metadata><id>Rule.Package</id><version>1.0.0</version><authors>a</authors><description>d</description>\(metadata)</metadata></package>"
                    .utf8))
        let archive = PackageArchive(
            path: "/in/rule.nupkg", size: 100, sha512: "x", nuspec: nuspec, nuspecEntry: "Rule.Package.nuspec",
            packedAt: Date(timeIntervalSince1970: 1_704_067_200), isSigned: false, signerFingerprint: nil, icon: nil,
            readme: nil, licenseFile: nil, warnings: [])
        let model = FeedModel(packages: [archive], relativePath: { $0 })
        let (catalog, added) = CatalogState().appending(model)
        let docs = CatalogRenderer(layout: FeedLayout(baseURL: "https://Feed.example.com/")).render(
            state: catalog, added: added, model: model)
        let leaf = try #require(docs.first { $0.path.hasPrefix("catalog/data/") })
        let data = try #require(try leaf.data())
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test(
        "iconFile and readmeFile only for type=\"file\" or no type",
        arguments: [
            ("<icon>i.png</icon>", "iconFile", true), ("<icon type=\"file\">i.png</icon>", "iconFile", true),
            ("<icon type=\"\">i.png</icon>", "iconFile", false),
            ("<icon type=\"File\">i.png</icon>", "iconFile", false),
            ("<readme>r.md</readme>", "readmeFile", true),
            ("<readme type=\"other\">r.md</readme>", "readmeFile", false),
        ])
    func fileElements(metadata: String, key: String, present: Bool) throws {
        #expect((try Self.leaf(metadata)[key] != nil) == present)
    }

    @Test(
        "tags split on spaces, tabs, commas, semicolons and bars, one of each, in order",
        arguments: [
            ("<tags>a b,a;c|b\td</tags>", ["a", "b", "c", "d"]), ("<tags>a\nb c</tags>", ["a\nb", "c"]),
            ("<tags> , </tags>", []),
        ])
    func tags(metadata: String, expected: [String]) throws {
        #expect((try Self.leaf(metadata)["tags"] as? [String] ?? []) == expected)
    }

    @Test(
        "framework assemblies: split as tags; nothing for a framework of separators alone; one group per framework whatever its case"
    )
    func frameworkAssemblies() throws {
        let none = try Self.leaf(
            "<frameworkAssemblies><frameworkAssembly assemblyName=\"A\" targetFramework=\" , \" /></frameworkAssemblies>"
        )
        #expect(none["frameworkAssemblyGroup"] == nil)
        let merged = try Self.leaf(
            "<frameworkAssemblies><frameworkAssembly assemblyName=\"A\" targetFramework=\"net45\" /><frameworkAssembly assemblyName=\"B\" targetFramework=\"NET45;net46\" /></frameworkAssemblies>"
        )
        let groups = try #require(merged["frameworkAssemblyGroup"] as? [[String: Any]])
        #expect(groups.map { $0["targetFramework"] as? String } == ["net45", "net46"])
        #expect(groups.first?["assembly"] as? [String] == ["A", "B"])
        #expect(groups.first?["@id"] as? String == Self.leafURL.lowercased() + "#frameworkassemblygroup/net45")
        let noFramework = try Self.leaf(
            "<frameworkAssemblies><frameworkAssembly assemblyName=\"A\" /></frameworkAssemblies>")
        let group = try #require(noFramework["frameworkAssemblyGroup"] as? [String: Any])
        #expect(group["assembly"] as? String == "A" && group["targetFramework"] == nil)
    }

    @Test("fragment ids are the lowercased leaf address: repository, dependency groups")
    func fragments() throws {
        let leaf = try Self.leaf(
            "<repository type=\"git\" url=\"https://example.com/R.git\" /><dependencies><group targetFramework=\"net8.0\"><dependency id=\"Other.Package\" version=\"1.0.0\" /></group></dependencies>"
        )
        #expect((leaf["repository"] as? [String: Any])?["@id"] as? String == Self.leafURL.lowercased() + "#repository")
        let group = try #require((leaf["dependencyGroups"] as? [[String: Any]])?.first)
        #expect(group["@id"] as? String == Self.leafURL.lowercased() + "#dependencygroup/net8.0")
    }
}

/// A registration page's commit is the catalog's last commit of a version within its bounds.
struct RegistrationCommitTests {
    @Test("each page takes the last commit within its bounds; a delete changes only its page's commit")
    func pageCommits() throws {
        let all = try GoldenTests.registration(versionCount: 130)
        let layout = FeedLayout(baseURL: "https://feed.example.com/")
        var (history, _) = CatalogState().appending(FeedModel(registrations: [all], diagnostics: []))
        func pages(_ r: PackageRegistration) throws -> [[String: Any]] {
            let links = history.links(for: [r.lowerId])[r.lowerId] ?? CatalogLinks()
            let docs = RegistrationRenderer(layout: layout, hive: .semVer2).render(r, catalog: links)
            let index = try #require(docs.first { $0.path.hasSuffix("/index.json") })
            let data = try #require(try index.data())
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            return try #require(json["items"] as? [[String: Any]])
        }
        let before = try pages(all)
        #expect(before.count == 3)
        // Versions commit in order: each page's commit is its last version's.
        for (page, last) in zip(before, [63, 127, 129]) {
            let item = history.items[last]
            #expect(page["commitId"] as? String == item.commitId, "\(page["@id"] ?? "")")
        }
        // 1.3.0 (in the first page) goes: a delete item, the first page's commit (its bounds hold
        // the deleted version). The others now end one version later (129 versions: 64, 64, 1).
        var kept = all
        kept.versions.removeAll { $0.version.normalizedString == "1.3.0" }
        let committed = history.items
        (history, _) = history.appending(FeedModel(registrations: [kept], diagnostics: []))
        #expect(history.items.last?.kind == .delete)
        let after = try pages(kept)
        #expect(
            after.map { $0["commitId"] as? String } == [
                history.items.last?.commitId, committed[128].commitId, committed[129].commitId,
            ])
    }
}
