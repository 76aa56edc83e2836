import Foundation

// Reading what a symbol server keys PDBs by, by hand: a PE file's CodeView debug directory entry
// and a portable PDB's `#Pdb` stream. Both are a few fixed structures at known offsets (ECMA-335
// II.24.2.1 metadata root; the PE/COFF specification's debug directory; dotnet/runtime's
// `PE-COFF.md` and `PortablePdb-Metadata.md` for the CodeView and `#Pdb` formats), and no Swift
// package on this machine reads them. Every read is bounds-checked: the files come from uploaded
// packages.

/// A portable PDB's id: the GUID and stamp of its `#Pdb` stream, which the DLL's CodeView debug
/// directory entry repeats (the GUID, and the stamp as the entry's time stamp).
public struct PdbId: Sendable, Hashable {
    /// The 16 bytes as stored (a .NET GUID: Data1, Data2 and Data3 little-endian).
    public var guid: [UInt8]
    public var stamp: UInt32

    /// The GUID as SSQP writes it: Data1, Data2, Data3 as numbers, then the 8 bytes, in lowercase
    /// hex (`497b72f6390a44fc878e5a2d63b6cc4b`).
    public var guidHex: String {
        let g = guid
        let data1 = UInt32(g[0]) | UInt32(g[1]) << 8 | UInt32(g[2]) << 16 | UInt32(g[3]) << 24
        let data2 = UInt16(g[4]) | UInt16(g[5]) << 8
        let data3 = UInt16(g[6]) | UInt16(g[7]) << 8
        return String(format: "%08x%04x%04x", data1, data2, data3)
            + g[8..<16].map { String(format: "%02x", $0) }.joined()
    }
}

/// Little-endian reads of a byte array that say nil instead of trapping.
struct ByteReader {
    let bytes: [UInt8]

    func u16(_ at: Int) -> UInt16? {
        guard at >= 0, at <= bytes.count - 2 else { return nil }
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    func u32(_ at: Int) -> UInt32? {
        guard at >= 0, at <= bytes.count - 4 else { return nil }
        return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16
            | UInt32(bytes[at + 3]) << 24
    }

    func slice(_ at: Int, _ count: Int) -> [UInt8]? {
        guard at >= 0, count >= 0, at <= bytes.count, count <= bytes.count - at else { return nil }
        return Array(bytes[at..<at + count])
    }
}

/// A portable PDB (ECMA-335 metadata with a `#Pdb` stream).
public enum PortablePdb {
    /// The PDB's id; nil when the bytes are not a portable PDB (a Windows PDB, or damaged).
    public static func id(_ bytes: [UInt8]) -> PdbId? {
        let r = ByteReader(bytes: bytes)
        // Metadata root: "BSJB", major, minor, reserved, version length, version, flags, streams.
        guard r.u32(0) == 0x424A_5342, let versionLength = r.u32(12), versionLength <= 255 else { return nil }
        var p = 16 + Int(versionLength)
        guard let count = r.u16(p + 2), count <= 64 else { return nil }
        p += 4
        for _ in 0..<count {
            guard let offset = r.u32(p), let size = r.u32(p + 4) else { return nil }
            p += 8
            // The name: NUL-terminated ASCII, padded to four bytes, at most 32 characters.
            var name: [UInt8] = []
            while p < bytes.count, bytes[p] != 0, name.count < 32 {
                name.append(bytes[p])
                p += 1
            }
            guard p < bytes.count, bytes[p] == 0 else { return nil }
            p = (p + 4) & ~3
            if name == Array("#Pdb".utf8) {
                guard size >= 20, let id = r.slice(Int(offset), 20) else { return nil }
                return PdbId(guid: Array(id[0..<16]), stamp: r.u32(Int(offset) + 16) ?? 0)
            }
        }
        return nil
    }
}

/// A PE file (a .dll or .exe) as far as its debug directory.
public enum PortableExecutable {
    /// A CodeView debug directory entry (`RSDS`): the PDB it was built with.
    public struct CodeView: Sendable, Hashable {
        public var guid: [UInt8]
        public var age: UInt32
        /// The PDB path the compiler wrote (often a build machine's absolute path).
        public var path: String
        /// The entry's minor version is `0x504D` ("PM"): the PDB is a portable one.
        public var isPortable: Bool
        /// The entry's time stamp: a portable PDB's stamp.
        public var stamp: UInt32

        /// The PDB's file name (the last part of `path`, either slash).
        public var fileName: String {
            String(path.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? Substring(path))
        }
    }

    /// The CodeView entries of a PE file's debug directory; nil when it is not a PE file.
    public static func codeView(_ bytes: [UInt8]) -> [CodeView]? {
        let r = ByteReader(bytes: bytes)
        guard r.u16(0) == 0x5A4D, let peOffset = r.u32(0x3C).map(Int.init), r.u32(peOffset) == 0x0000_4550,
            let sections = r.u16(peOffset + 6), let optionalSize = r.u16(peOffset + 20)
        else { return nil }
        let optional = peOffset + 24
        let directories: Int
        switch r.u16(optional) {
        case 0x10B: directories = optional + 96  // PE32
        case 0x20B: directories = optional + 112  // PE32+
        default: return nil
        }
        // The debug directory is data directory 6.
        guard let debugRVA = r.u32(directories + 6 * 8), let debugSize = r.u32(directories + 6 * 8 + 4) else {
            return nil
        }
        if debugRVA == 0 || debugSize == 0 { return [] }
        let sectionTable = optional + Int(optionalSize)
        func fileOffset(_ rva: UInt32) -> Int? {
            for i in 0..<Int(min(sections, 96)) {
                let s = sectionTable + i * 40
                guard let virtualSize = r.u32(s + 8), let address = r.u32(s + 12), let rawSize = r.u32(s + 16),
                    let rawPointer = r.u32(s + 20)
                else { return nil }
                let span = UInt64(max(virtualSize, rawSize))
                if UInt64(rva) >= UInt64(address), UInt64(rva) < UInt64(address) + span {
                    return Int(UInt64(rva) - UInt64(address) + UInt64(rawPointer))
                }
            }
            return nil
        }
        guard let directory = fileOffset(debugRVA) else { return nil }
        var out: [CodeView] = []
        for i in 0..<Int(min(debugSize / 28, 64)) {
            let e = directory + i * 28
            guard let stamp = r.u32(e + 4), let minor = r.u16(e + 10), let type = r.u32(e + 12),
                let size = r.u32(e + 16), let pointer = r.u32(e + 24)
            else { return nil }
            guard type == 2, size >= 24, size <= 4096, let data = r.slice(Int(pointer), Int(size)),
                ByteReader(bytes: data).u32(0) == 0x5344_5352  // "RSDS"
            else { continue }
            let pathBytes = data[24...].prefix { $0 != 0 }
            out.append(
                CodeView(
                    guid: Array(data[4..<20]), age: ByteReader(bytes: data).u32(20) ?? 0,
                    path: String(decoding: pathBytes, as: UTF8.self), isPortable: minor == 0x504D, stamp: stamp))
        }
        return out
    }
}

/// Keys of the Simple Symbol Query Protocol (dotnet/symstore `docs/specs/SSQP_Key_Conventions.md`).
public enum SymbolKey {
    /// A portable PDB's key: `<file name>/<guid>FFFFFFFF/<file name>`, lowercased whole (the
    /// form clients are told they may send; a server answers any case).
    public static func portablePdb(fileName: String, id: PdbId) -> String {
        let name = fileName.lowercased()
        return "\(name)/\(id.guidHex)ffffffff/\(name)"
    }
}
