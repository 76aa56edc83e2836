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
    /// The file name of a package entry as a key names it: the last segment (after `/` or `\`),
    /// percent-decoded as NuGet stores names (`My%20Data.pdb` is `My Data.pdb`).
    public static func fileName(ofEntry entry: String) -> String {
        let last = String(entry.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? Substring(entry))
        return last.removingPercentEncoding ?? last
    }

    /// Whether a key is a portable PDB's as `portablePdb` makes them, and one a symbol store may
    /// hold as a path: `{name}.pdb/{32 hex}ffffffff/{name}.pdb`, lowercase, the name with no `\`,
    /// NUL or control character, not `.` or `..`. (For keys made here, and keys read back from a
    /// feed's records.)
    public static func isPortablePdbKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == parts[2], parts[0].hasSuffix(".pdb"), parts[0] == parts[0].lowercased(),
            parts[0] != ".", parts[0] != "..",
            !parts[0].unicodeScalars.contains(where: { $0.value < 0x20 || $0 == "\\" || $0.value == 0x7F }),
            parts[1].count == 40, parts[1].hasSuffix("ffffffff"),
            parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { return false }
        return true
    }

    /// A portable PDB's key: `<file name>/<guid>FFFFFFFF/<file name>`, lowercased whole (the
    /// form clients are told they may send; a server answers any case).
    public static func portablePdb(fileName: String, id: PdbId) -> String {
        let name = fileName.lowercased()
        return "\(name)/\(id.guidHex)ffffffff/\(name)"
    }
}

/// A symbol package (`.snupkg`) checked as nuget.org's symbol ingestion checks it, against the
/// package (`.nupkg`) of the same id and version.
public enum SymbolPackage {
    /// A PDB of the symbol package and the key it is served under.
    public struct File: Sendable, Hashable, Codable {
        /// The entry in the `.snupkg` (`lib/net8.0/X.pdb`).
        public var entry: String
        public var size: Int64
        /// Its SSQP key (`x.pdb/<guid>ffffffff/x.pdb`).
        public var key: String

        public init(entry: String, size: Int64, key: String) {
            self.entry = entry
            self.size = size
            self.key = key
        }
    }

    /// Why a symbol package is not served (the package itself stays in the feed).
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not a readable package (a zip bomb, an entry leaving the folder, a broken nuspec).
        case unreadable(PackageArchiveError)
        case otherPackage(id: String, version: String)
        case notSymbolsPackage
        case notAPdb(String)
        case notPortable(String)
        case noBinary(String)
        case mismatch(pdb: String, binary: String)
        case noPdbs
        case unservableName(String)

        public var description: String {
            switch self {
            case .unreadable(let e): return "\(e)"
            case .otherPackage(let id, let v):
                return "its nuspec says \(id) \(v), not the package beside it; name it after its package"
            case .notSymbolsPackage:
                return "its nuspec does not declare the SymbolsPackage package type (`dotnet pack` "
                    + "-p:SymbolPackageFormat=snupkg writes it)"
            case .notAPdb(let e):
                return "it holds \(e), which is not a PDB; a symbol package holds only PDBs"
            case .notPortable(let e):
                return "\(e) is not a portable PDB (build with <DebugType>portable</DebugType>)"
            case .noBinary(let e):
                return "\(e) has no .dll or .exe of the same name at the same path in the package"
            case .mismatch(let pdb, let binary):
                return "\(pdb) is not the PDB \(binary) was built with (their ids differ); pack them from one build"
            case .noPdbs: return "it holds no PDB"
            case .unservableName(let e): return "\(e) has a file name a symbol store cannot serve; rename it"
            }
        }
    }

    /// Files a package holds besides its content (the nuspec, OPC parts, a signature).
    static func isMetadata(_ name: String) -> Bool {
        let lower = name.lowercased()
        return (!lower.contains("/") && lower.hasSuffix(".nuspec")) || lower == "[content_types].xml"
            || lower == "_rels/.rels" || lower == ".signature.p7s"
            || (lower.hasPrefix("package/services/metadata/core-properties/") && lower.hasSuffix(".psmdcp"))
    }

    /// The most a PDB or a binary is read to check it.
    public static let maxEntry: Int64 = 512 * 1024 * 1024

    /// What `read` finds in the first `first` bytes of an entry, or, when that is not enough,
    /// the entry is longer and starts as its kind does (`magic`), in the whole entry (up to
    /// `maxEntry`): a large file that is not of the kind is never read whole.
    static func readHeader<T>(
        _ entry: String, of package: String, size: Int64, first: Int, magic: [UInt8], _ read: ([UInt8]) -> T?
    ) -> T? {
        guard let head = try? PackageArchive.extractPrefix(entry, fromPackageAt: package, count: first) else {
            return nil
        }
        if let found = read([UInt8](head)) { return found }
        guard size > Int64(first), head.starts(with: magic),
            let whole = try? PackageArchive.extractEntry(entry, fromPackageAt: package, limit: maxEntry)
        else { return nil }
        return read([UInt8](whole))
    }

    /// Checks the symbol package at `path` against `package`; its PDBs and their keys.
    public static func check(path: String, against package: PackageArchive) -> Result<[File], Problem> {
        checked(path: path, against: package).map(\.files)
    }

    /// A symbol package that passed: its PDBs, and the SHA-512 (base64) and size of the file, as
    /// its read found them.
    public struct Checked: Sendable {
        public var files: [File]
        public var sha512: String
        public var size: Int64
    }

    /// `check`, with what reading the symbol package found of the file itself.
    public static func checked(path: String, against package: PackageArchive) -> Result<Checked, Problem> {
        let symbols: PackageArchive
        do throws(PackageArchiveError) {
            symbols = try PackageArchive.read(path: path)
        } catch {
            return .failure(.unreadable(error))
        }
        let nuspec = symbols.nuspec
        guard nuspec.id.lowercased() == package.nuspec.id.lowercased(), nuspec.version == package.nuspec.version
        else {
            return .failure(.otherPackage(id: nuspec.id, version: nuspec.version.normalizedString))
        }
        guard nuspec.isSymbolsPackage else {
            return .failure(.notSymbolsPackage)
        }
        let binaries = Dictionary(
            package.entries.map { ($0.fullName.lowercased().replacingOccurrences(of: "\\", with: "/"), $0.fullName) },
            uniquingKeysWith: { a, _ in a })
        var files: [File] = []
        for entry in symbols.entries where !entry.fullName.hasSuffix("/") && !isMetadata(entry.fullName) {
            let name = entry.fullName
            guard name.lowercased().hasSuffix(".pdb") else { return .failure(.notAPdb(name)) }
            // A PDB's id is in its first bytes (the metadata root and the #Pdb stream); a DLL's
            // CodeView entry most often in its first megabytes: those are read first, the whole
            // file only when they do not hold it.
            guard
                let id = readHeader(
                    name, of: path, size: entry.length, first: 1 << 16, magic: Array("BSJB".utf8), PortablePdb.id)
            else {
                return .failure(.notPortable(name))
            }
            let stem = String(name.dropLast(4)).lowercased().replacingOccurrences(of: "\\", with: "/")
            guard let binary = binaries[stem + ".dll"] ?? binaries[stem + ".exe"] else {
                return .failure(.noBinary(name))
            }
            let binarySize = package.entries.first { $0.fullName == binary }?.length ?? maxEntry
            let matches = { (bytes: [UInt8]) -> Bool? in
                guard let entries = PortableExecutable.codeView(bytes), !entries.isEmpty else { return nil }
                return entries.contains(where: { $0.guid == id.guid && $0.stamp == id.stamp && $0.isPortable })
            }
            guard
                readHeader(
                    binary, of: package.path, size: binarySize, first: 4 << 20, magic: Array("MZ".utf8), matches)
                    == true
            else {
                return .failure(.mismatch(pdb: name, binary: binary))
            }
            let key = SymbolKey.portablePdb(fileName: SymbolKey.fileName(ofEntry: name), id: id)
            guard SymbolKey.isPortablePdbKey(key) else { return .failure(.unservableName(name)) }
            files.append(File(entry: name, size: entry.length, key: key))
        }
        guard !files.isEmpty else { return .failure(.noPdbs) }
        return .success(Checked(files: files, sha512: symbols.sha512, size: symbols.size))
    }
}
