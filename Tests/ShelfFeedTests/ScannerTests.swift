import Foundation
import Testing

@testable import ShelfFeed

/// The scan of the input folder: which files are packages, their order (by the bytes of the
/// path, folders and files interleaved as their full paths sort), and the relative paths that
/// messages and the read cache use.
struct ScannerTests {
    @Test("package files in any case, symbol packages apart, hidden and excluded folders skipped, byte order")
    func findsAndOrders() throws {
        // A root with a space and letters outside ASCII, so that relative paths cut bytes, not
        // characters.
        let root = try SinkRemovalTests.folder() + "/in put é"
        let files = [
            "a/x.nupkg", "a-b.nupkg", "a.nupkg", "B.NUPKG", "b.nupkg", "é.nupkg", "z/é/deep.Nupkg", "a/y.snupkg",
            "a/y.symbols.nupkg", "a/notes.txt", ".hidden/h.nupkg", "out/feed.nupkg", "Zeta.nupkg", "e\u{301}.nupkg",
        ]
        try SinkRemovalTests.write(root, files)
        let scan = PackageScanner(root: root, excluding: [root + "/out"]).scan()
        let relative = scan.packages.map { PackageScanner(root: root).relative($0) }
        let expected = [
            "B.NUPKG", "Zeta.nupkg", "a-b.nupkg", "a.nupkg", "a/x.nupkg", "b.nupkg", "e\u{301}.nupkg", "z/é/deep.Nupkg",
            "é.nupkg",
        ]
        #expect(relative == expected)
        // The order is that of the paths' UTF-8 bytes, whatever their Unicode normalisation.
        #expect(
            scan.packages.map { Array($0.utf8) }
                == scan.packages.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(
            scan.symbolPackages.map { PackageScanner(root: root).relative($0) } == ["a/y.snupkg", "a/y.symbols.nupkg"])
        #expect(scan.stamps.count == scan.packages.count && scan.stamps.allSatisfy { $0 != nil })
    }

    @Test(
        "links: a link to a package file is read through, one that leads nowhere is kept, a folder link is not followed"
    )
    func links() throws {
        let root = try SinkRemovalTests.folder()
        let elsewhere = try SinkRemovalTests.folder()
        try SinkRemovalTests.write(root, ["real.nupkg"])
        try SinkRemovalTests.write(elsewhere, ["target.nupkg", "sub/inside.nupkg"])
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: root + "/linked.nupkg", withDestinationPath: elsewhere + "/target.nupkg")
        try fm.createSymbolicLink(atPath: root + "/dangling.nupkg", withDestinationPath: elsewhere + "/gone.nupkg")
        try fm.createSymbolicLink(atPath: root + "/folder", withDestinationPath: elsewhere + "/sub")
        try fm.createSymbolicLink(atPath: root + "/loop.nupkg", withDestinationPath: root + "/loop.nupkg")
        // A link named like a package that leads to a folder is not a package.
        try fm.createSymbolicLink(atPath: root + "/dir.nupkg", withDestinationPath: elsewhere + "/sub")
        let scanner = PackageScanner(root: root)
        let scan = scanner.scan()
        #expect(scan.packages.map(scanner.relative) == ["dangling.nupkg", "linked.nupkg", "loop.nupkg", "real.nupkg"])
        // The identity is the target's; a link that leads nowhere has none (it fails to read, with a message).
        let stamps = Dictionary(uniqueKeysWithValues: zip(scan.packages.map(scanner.relative), scan.stamps))
        var target = stat()
        #expect(stat(elsewhere + "/target.nupkg", &target) == 0)
        #expect(stamps["linked.nupkg"]??.inode == Int64(target.st_ino))
        #expect(stamps["dangling.nupkg"]! == nil && stamps["loop.nupkg"]! == nil)
        #expect(stamps["real.nupkg"]! != nil)
    }

    @Test("relative paths: inside the root, the root itself, and a path beside it with the same prefix")
    func relativePaths() {
        let scanner = PackageScanner(root: "/data/pkgs é")
        #expect(scanner.relative("/data/pkgs é/a/b.nupkg") == "a/b.nupkg")
        #expect(scanner.relative("/data/pkgs é") == ".")
        #expect(scanner.relative("/data/pkgs é2/b.nupkg") == "/data/pkgs é2/b.nupkg")
        #expect(scanner.relative("/data/pkgs") == "/data/pkgs")
    }

    @Test(
        "byte order of paths",
        arguments: [
            ("a", "b", true), ("b", "a", false), ("a", "a", false), ("", "a", true), ("a", "", false),
            ("a-b", "a/x", true), ("Z", "a", true), ("é", "z", false), ("e\u{301}", "é", true), ("ab", "abc", true),
        ])
    func byteOrder(a: String, b: String, precedes: Bool) {
        #expect(ByteOrder.precedes(a, b) == precedes)
    }
}
