import Crypto
import Foundation
import ZIPFoundation

/// What reading one `.nupkg` yields: everything the feed needs from it, without its payload.
public struct PackageArchive: Sendable, Hashable {
    /// The file it was read from.
    public var path: String
    public var size: Int64
    /// Base64 SHA-512 of the whole file, as NuGet writes it to `.nupkg.sha512`.
    public var sha512: String
    public var nuspec: Nuspec
    /// Name of the nuspec entry at the package root (any case).
    public var nuspecEntry: String
    /// Modification time of the nuspec entry, the package's own record of when it was packed;
    /// used as `published` so that a build never depends on the clock.
    public var packedAt: Date
    /// True when the package carries a NuGet signature (`.signature.p7s` at the root).
    public var isSigned: Bool
    /// SHA-256 fingerprint (upper-case hex) of the certificate that made the primary signature,
    /// when the signature can be read (`PackageSignature`; not verified cryptographically).
    public var signerFingerprint: String?
    /// The embedded icon, readme and license file the nuspec names, when present and readable.
    public var icon: EmbeddedFile?
    public var readme: EmbeddedFile?
    public var licenseFile: EmbeddedFile?
    /// Problems that did not stop the package from being served (a missing icon, say).
    public var warnings: [String]

    /// A file inside the package: its entry name and size.
    public struct EmbeddedFile: Sendable, Hashable {
        public var entry: String
        public var size: Int64
        /// The extension to publish it under (`.png`, `.md`), lowercase, with its dot; may be empty.
        public var fileExtension: String
    }
}

/// Why a `.nupkg` cannot be served. Messages name what is wrong and what to do.
public enum PackageArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(String)
    case empty
    case gitLFSPointer
    case notZip
    case noNuspec
    case severalNuspecs([String])
    case nuspecTooLarge(Int64)
    case nuspecUnreadable(String)
    case nuspec(NuspecError)

    public var description: String {
        switch self {
        case .unreadable(let why):
            return "cannot read the file (\(why)); check its permissions"
        case .empty:
            return "the file is empty; replace it with the real package"
        case .gitLFSPointer:
            return "the file is a Git LFS pointer, not a package; run `git lfs pull` to fetch the real file"
        case .notZip:
            return "the file is not a zip archive, or it is truncated; replace it with an intact copy of the package"
        case .noNuspec:
            return "the package has no .nuspec at its root; repack it with `dotnet pack` or `nuget pack`"
        case .severalNuspecs(let names):
            return "the package has several .nuspec files at its root (\(names.joined(separator: ", "))); "
                + "NuGet refuses such packages; repack it with one"
        case .nuspecTooLarge(let size):
            return "the nuspec is \(size) bytes, over the \(Nuspec.maxSize)-byte limit; repack it with a normal nuspec"
        case .nuspecUnreadable(let why):
            return "the nuspec cannot be extracted (\(why)); replace the package with an intact copy"
        case .nuspec(let error):
            return error.description
        }
    }
}

extension PackageArchive {
    /// Upper bound on an embedded icon, readme or license file; nuget.org allows 1 MB icons.
    public static let maxEmbeddedFileSize: Int64 = 16 * 1024 * 1024

    /// Reads a package file once: SHA-512 of the whole file, the central directory, the root
    /// nuspec and the embedded files it names (checked, not kept in memory).
    public static func read(path: String) throws(PackageArchiveError) -> PackageArchive {
        let url = URL(fileURLWithPath: path)
        let (size, sha512, head) = try hashFile(path)
        if size == 0 { throw .empty }
        if head.starts(with: Array("version https://git-lfs".utf8)) { throw .gitLFSPointer }
        let archive: Archive
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw .notZip
        }
        var entries: [Entry] = []
        for entry in archive { entries.append(entry) }
        if entries.isEmpty { throw .notZip }

        // PackageArchiveReader.GetNuspecFile: a file at the root ending in .nuspec, any case.
        let rootNuspecs = entries.filter { e in
            let p = e.path
            return e.type == .file && !p.contains("/") && !p.contains("\\") && p.lowercased().hasSuffix(".nuspec")
        }
        guard let nuspecEntry = rootNuspecs.first else { throw .noNuspec }
        if rootNuspecs.count > 1 { throw .severalNuspecs(rootNuspecs.map(\.path).sorted()) }
        if nuspecEntry.uncompressedSize > UInt64(Nuspec.maxSize) {
            throw .nuspecTooLarge(Int64(nuspecEntry.uncompressedSize))
        }
        let nuspecData: Data
        do {
            nuspecData = try extract(nuspecEntry, from: archive, limit: Int64(Nuspec.maxSize))
        } catch {
            throw .nuspecUnreadable(describe(error))
        }
        let nuspec: Nuspec
        do {
            nuspec = try Nuspec(data: nuspecData)
        } catch {
            throw .nuspec(error)
        }

        var warnings: [String] = []
        func embedded(_ declared: String?, what: String, extensions: [String]) -> EmbeddedFile? {
            guard let declared else { return nil }
            // Only the extensions `nuget pack` accepts (NuGet.Packaging `PackageBuilder`: icons
            // .png/.jpg/.jpeg, NU5045; license files .txt/.md or none, NU5031; readmes .md). The
            // file is published beside the feed's pages, so anything else (an .svg or .js a
            // browser would run on the feed's origin) is not.
            let ext = fileExtension(of: declared)
            guard extensions.contains(ext) else {
                let allowed = extensions.map { $0.isEmpty ? "no extension" : $0 }.joined(separator: ", ")
                warnings.append(
                    "the \(what) '\(declared)' has an extension NuGet does not accept (only \(allowed)); it is not "
                        + "published: repack with a valid \(what)")
                return nil
            }
            guard let entry = findEntry(declared, in: entries) else {
                warnings.append(
                    "the nuspec names the \(what) '\(declared)', which is not in the package; it is not published")
                return nil
            }
            guard Int64(entry.uncompressedSize) <= maxEmbeddedFileSize else {
                warnings.append(
                    "the \(what) '\(declared)' is larger than \(maxEmbeddedFileSize) bytes; it is not published")
                return nil
            }
            do {
                _ = try extract(entry, from: archive, limit: maxEmbeddedFileSize)
            } catch let corrupt as Corrupt {
                warnings.append(
                    "the \(what) '\(declared)' is corrupt (\(corrupt.why)); it is not published, and NuGet clients may "
                        + "fail to extract this package: replace it with an intact copy")
                return nil
            } catch {
                warnings.append(
                    "the \(what) '\(declared)' cannot be extracted (\(describe(error))); it is not published")
                return nil
            }
            return EmbeddedFile(
                entry: entry.path, size: Int64(entry.uncompressedSize), fileExtension: fileExtension(of: declared))
        }
        let icon = embedded(nuspec.icon, what: "icon", extensions: [".png", ".jpg", ".jpeg"])
        let readme = embedded(nuspec.readme, what: "readme", extensions: [".md"])
        let license =
            nuspec.license?.kind == .file
            ? embedded(nuspec.license?.text, what: "license file", extensions: [".txt", ".md", ""]) : nil

        let packedAt =
            (nuspecEntry.fileAttributes[.modificationDate] as? Date) ?? Date(timeIntervalSince1970: 315_532_800)
        let signature = entries.first { $0.path == ".signature.p7s" && $0.type == .file }
        let isSigned = signature != nil
        var signer: String?
        if let signature, signature.uncompressedSize <= 1 << 20,
            let bytes = try? extract(signature, from: archive, limit: 1 << 20)
        {
            signer = PackageSignature.signerFingerprint([UInt8](bytes))
        }
        return PackageArchive(
            path: path, size: size, sha512: sha512, nuspec: nuspec, nuspecEntry: nuspecEntry.path,
            packedAt: packedAt, isSigned: isSigned, signerFingerprint: signer, icon: icon, readme: readme,
            licenseFile: license, warnings: warnings)
    }

    /// Extracts one entry of a package into memory, checking its CRC and a size limit.
    public static func extractEntry(_ name: String, fromPackageAt path: String, limit: Int64) throws -> Data {
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        guard let entry = archive.first(where: { $0.path == name }) else {
            throw PackageArchiveError.nuspecUnreadable("no entry \(name)")
        }
        return try extract(entry, from: archive, limit: limit)
    }

    private struct TooLarge: Error {}
    private struct Corrupt: Error { var why: String }

    /// Extracts an entry into memory. ZIPFoundation returns the CRC-32 it computed rather than
    /// checking it for deflated entries, so the CRC and the size are checked here against the
    /// central directory: a corrupt entry is never published.
    private static func extract(_ entry: Entry, from archive: Archive, limit: Int64) throws -> Data {
        var data = Data()
        let crc = try archive.extract(entry, skipCRC32: false) { chunk in
            if Int64(data.count + chunk.count) > limit { throw TooLarge() }
            data.append(chunk)
        }
        guard UInt64(data.count) == entry.uncompressedSize else {
            throw Corrupt(why: "it inflates to \(data.count) bytes, not the \(entry.uncompressedSize) its header says")
        }
        guard crc == entry.checksum else { throw Corrupt(why: "CRC check failed") }
        return data
    }

    private static func describe(_ error: any Error) -> String {
        if error is TooLarge { return "larger than its limit" }
        if let c = error as? Corrupt { return "the entry is corrupt: \(c.why)" }
        if let e = error as? Archive.ArchiveError {
            switch e {
            case .invalidCRC32: return "CRC check failed: the entry is corrupt"
            default: return "\(e)"
            }
        }
        return "\(error)"
    }

    /// Finds the entry a nuspec path names: `\` and `/` are the same separator, a leading `./`
    /// or `/` is ignored, entry names may be percent-encoded (OPC), and the match falls back to
    /// case-insensitive, as NuGet's `PackageArchiveReader` does.
    static func findEntry(_ declared: String, in entries: [Entry]) -> Entry? {
        let wanted = normalizeEntryPath(declared)
        guard !wanted.isEmpty, !wanted.split(separator: "/").contains("..") else { return nil }
        let files = entries.filter { $0.type == .file }
        if let exact = files.first(where: { normalizeEntryPath($0.path) == wanted }) { return exact }
        let lower = wanted.lowercased()
        return files.first { normalizeEntryPath($0.path).lowercased() == lower }
    }

    static func normalizeEntryPath(_ path: String) -> String {
        var p = path.replacingOccurrences(of: "\\", with: "/")
        p = p.removingPercentEncoding ?? p
        while p.hasPrefix("./") { p.removeFirst(2) }
        while p.hasPrefix("/") { p.removeFirst() }
        return p
    }

    static func fileExtension(of path: String) -> String {
        let name = normalizeEntryPath(path).split(separator: "/").last.map(String.init) ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        let ext = name[dot...].lowercased()
        // Only plain extensions are kept in published names.
        guard ext.count <= 10, ext.dropFirst().allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return ""
        }
        return ext
    }

    /// Streams the file through SHA-512; returns its size, the base64 digest and its first bytes.
    static func hashFile(_ path: String) throws(PackageArchiveError) -> (Int64, String, [UInt8]) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .unreadable("cannot open it")
        }
        defer { try? handle.close() }
        var hasher = SHA512()
        var size: Int64 = 0
        var head: [UInt8] = []
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 1 << 20)
            } catch {
                throw .unreadable("\(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            if head.isEmpty { head = Array(chunk.prefix(64)) }
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (size, Data(hasher.finalize()).base64EncodedString(), head)
    }
}
