import Foundation
import ShelfTestSupport
import Testing

@testable import NuGetCore

/// The keys a symbol server files PDBs under, computed from the PE side (the DLL's CodeView
/// debug directory entry) and from the PDB side (its `#Pdb` stream) independently, on a real
/// published pair (`TestData 1.2.3`, BaGet's test data), and the readers on damaged input.
struct SymbolFilesTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/packages").path

    static func entry(_ name: String, of file: String) throws -> [UInt8] {
        [UInt8](try PackageArchive.extractEntry(name, fromPackageAt: fixtures + "/" + file, limit: 1 << 24))
    }

    @Test("TestData 1.2.3: the DLL's CodeView entry and the PDB's #Pdb stream give the same key")
    func realPair() throws {
        let dll = try Self.entry("lib/net5.0/TestData.dll", of: "TestData.1.2.3.nupkg")
        let pdb = try Self.entry("lib/net5.0/TestData.pdb", of: "TestData.1.2.3.snupkg")
        let entries = try #require(PortableExecutable.codeView(dll))
        #expect(entries.count == 1)
        let cv = try #require(entries.first)
        #expect(cv.isPortable)
        #expect(cv.fileName == "TestData.pdb")
        #expect(cv.path == #"D:\Code\TestData\obj\Debug\net5.0\TestData.pdb"#)
        let id = try #require(PortablePdb.id(pdb))
        #expect(id.guid == cv.guid)
        #expect(id.stamp == cv.stamp)
        // By hand from the bytes (Python's uuid.UUID(bytes_le=...)): 16f71ed8-dd57-4aa2-ad4a-22d29e9c981b.
        let expected = "testdata.pdb/16f71ed8dd574aa2ad4a22d29e9c981bffffffff/testdata.pdb"
        #expect(SymbolKey.portablePdb(fileName: cv.fileName, id: PdbId(guid: cv.guid, stamp: cv.stamp)) == expected)
        #expect(SymbolKey.portablePdb(fileName: "TestData.pdb", id: id) == expected)
    }

    @Test("the SSQP spec's own example: Data1, Data2, Data3 as numbers, then the bytes")
    func specExample() {
        // { 0x497B72F6, 0x390A, 0x44FC, { 0x87, 0x8E, 0x5A, 0x2D, 0x63, 0xB6, 0xCC, 0x4B } }, stored little-endian.
        let guid: [UInt8] = [
            0xF6, 0x72, 0x7B, 0x49, 0x0A, 0x39, 0xFC, 0x44, 0x87, 0x8E, 0x5A, 0x2D, 0x63, 0xB6, 0xCC, 0x4B,
        ]
        #expect(
            SymbolKey.portablePdb(fileName: "Foo.pdb", id: PdbId(guid: guid, stamp: 0))
                == "foo.pdb/497b72f6390a44fc878e5a2d63b6cc4bffffffff/foo.pdb")
    }

    @Test("not a PE or not a portable PDB: nil; every truncation and 2,000 seeded byte flips: no trap")
    func damaged() throws {
        let dll = try Self.entry("lib/net5.0/TestData.dll", of: "TestData.1.2.3.nupkg")
        let pdb = try Self.entry("lib/net5.0/TestData.pdb", of: "TestData.1.2.3.snupkg")
        #expect(PortableExecutable.codeView(pdb) == nil)
        #expect(PortablePdb.id(dll) == nil)
        #expect(PortableExecutable.codeView([]) == nil)
        #expect(PortablePdb.id(Array("Microsoft C/C++ MSF 7.00\r\n".utf8)) == nil)
        for n in stride(from: 0, to: dll.count, by: 7) { _ = PortableExecutable.codeView(Array(dll.prefix(n))) }
        for n in 0..<min(pdb.count, 600) { _ = PortablePdb.id(Array(pdb.prefix(n))) }
        var rng = SeededRandom(seed: 41)
        for _ in 0..<1000 {
            var d = dll
            for _ in 0..<4 { d[rng.below(min(d.count, 1024))] = UInt8(rng.below(256)) }
            _ = PortableExecutable.codeView(d)
            var p = pdb
            for _ in 0..<4 { p[rng.below(min(p.count, 512))] = UInt8(rng.below(256)) }
            _ = PortablePdb.id(p)
        }
    }

    /// Symbol packages made from TestData's, one fault each (python's zipfile), in a fresh folder.
    static func made() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shelf-symbols-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let script = #"""
            import sys, zipfile
            src, out = sys.argv[1], sys.argv[2]
            sn = zipfile.ZipFile(src + "/TestData.1.2.3.snupkg")
            nu = zipfile.ZipFile(src + "/TestData.1.2.3.nupkg")
            pdb = sn.read("lib/net5.0/TestData.pdb")
            nuspec = sn.read("TestData.nuspec").decode()
            def make(name, entries):
                with zipfile.ZipFile(out + "/" + name, "w", zipfile.ZIP_DEFLATED) as z:
                    for n, d in entries:
                        z.writestr(n, d)
            ct = ("[Content_Types].xml", sn.read("[Content_Types].xml"))
            make("good.snupkg", [("TestData.nuspec", nuspec), ("lib/net5.0/TestData.pdb", pdb), ct])
            make("other-id.snupkg", [("TestData.nuspec", nuspec.replace("<id>TestData<", "<id>Other.Data<")),
                                     ("lib/net5.0/TestData.pdb", pdb), ct])
            make("no-type.snupkg", [("TestData.nuspec", nuspec.replace("SymbolsPackage", "Dependency")),
                                    ("lib/net5.0/TestData.pdb", pdb), ct])
            make("a-dll.snupkg", [("TestData.nuspec", nuspec), ("lib/net5.0/TestData.pdb", pdb),
                                  ("lib/net5.0/TestData.dll", nu.read("lib/net5.0/TestData.dll")), ct])
            make("windows-pdb.snupkg", [("TestData.nuspec", nuspec),
                                        ("lib/net5.0/TestData.pdb", b"Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0" + b"\0" * 64), ct])
            make("no-binary.snupkg", [("TestData.nuspec", nuspec), ("lib/net5.0/Elsewhere.pdb", pdb), ct])
            make("climbing.snupkg", [("TestData.nuspec", nuspec), ("../../TestData.pdb", pdb), ct])
            # A package whose DLL names another PDB id: one byte of the CodeView GUID changed.
            dll = bytearray(nu.read("lib/net5.0/TestData.dll"))
            at = bytes(dll).index(b"RSDS") + 4
            dll[at] ^= 0xFF
            with zipfile.ZipFile(out + "/TestData.other-build.nupkg", "w", zipfile.ZIP_DEFLATED) as z:
                for i in nu.infolist():
                    z.writestr(i.filename, bytes(dll) if i.filename.endswith(".dll") else nu.read(i.filename))
            """#
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, fixtures, folder]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return folder
    }

    @Test("symbol packages are checked as nuget.org checks them, each problem by case")
    func checks() throws {
        let folder = try Self.made()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let package = try PackageArchive.read(path: Self.fixtures + "/TestData.1.2.3.nupkg")
        let real = SymbolPackage.check(path: Self.fixtures + "/TestData.1.2.3.snupkg", against: package)
        #expect(
            real
                == .success([
                    SymbolPackage.File(
                        entry: "lib/net5.0/TestData.pdb", size: 9516,
                        key: "testdata.pdb/16f71ed8dd574aa2ad4a22d29e9c981bffffffff/testdata.pdb")
                ]))
        #expect(SymbolPackage.check(path: folder + "/good.snupkg", against: package) == real)
        let cases: [(String, (SymbolPackage.Problem) -> Bool)] = [
            ("other-id", { if case .otherPackage = $0 { true } else { false } }),
            ("no-type", { $0 == .notSymbolsPackage }),
            ("a-dll", { $0 == .notAPdb("lib/net5.0/TestData.dll") }),
            ("windows-pdb", { $0 == .notPortable("lib/net5.0/TestData.pdb") }),
            ("no-binary", { $0 == .noBinary("lib/net5.0/Elsewhere.pdb") }),
            ("climbing", { if case .unreadable = $0 { true } else { false } }),
        ]
        for (name, expected) in cases {
            let r = SymbolPackage.check(path: folder + "/\(name).snupkg", against: package)
            guard case .failure(let problem) = r else {
                Issue.record("\(name): taken")
                continue
            }
            #expect(expected(problem), "\(name): \(problem)")
        }
        // The PDB of one build beside the DLL of another: a PDB that claims another DLL's id.
        let otherBuild = try PackageArchive.read(path: folder + "/TestData.other-build.nupkg")
        #expect(
            SymbolPackage.check(path: Self.fixtures + "/TestData.1.2.3.snupkg", against: otherBuild)
                == .failure(.mismatch(pdb: "lib/net5.0/TestData.pdb", binary: "lib/net5.0/TestData.dll")))
        // A legacy symbols package (.symbols.nupkg: DLLs and PDBs): not a SymbolsPackage.
        let composable = try PackageArchive.read(path: Self.fixtures + "/Composable.Core.3.4.0.nupkg")
        let legacy = SymbolPackage.check(
            path: Self.fixtures + "/Composable.Core.3.4.0.symbols.nupkg", against: composable)
        guard case .failure = legacy else {
            Issue.record("a legacy symbols package was taken: \(legacy)")
            return
        }
    }
}
