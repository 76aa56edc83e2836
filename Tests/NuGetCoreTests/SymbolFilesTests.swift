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
}
