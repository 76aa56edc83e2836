import Crypto
import Foundation

/// What reading one `.nupkg` yields: everything the feed needs from it, without its payload.
///
/// Its fields live in one shared, copy-on-write box (`SharedFields`): copying one costs a retain.
public struct PackageArchive: Sendable, Hashable {
    struct Fields: Sendable, Hashable {
        var path: String
        var size: Int64
        var sha512: String
        var nuspec: Nuspec
        var nuspecEntry: String
        var packedAt: Date
        var isSigned: Bool
        var signerFingerprint: String?
        var icon: EmbeddedFile?
        var readme: EmbeddedFile?
        var licenseFile: EmbeddedFile?
        var warnings: [String]
        var entries: [Entry] = []
        var readIdentity: FileIdentity? = nil
    }

    private var storage: SharedFields<Fields>

    public init(
        path: String, size: Int64, sha512: String, nuspec: Nuspec, nuspecEntry: String, packedAt: Date,
        isSigned: Bool, signerFingerprint: String?, icon: EmbeddedFile?, readme: EmbeddedFile?,
        licenseFile: EmbeddedFile?, warnings: [String], entries: [Entry] = []
    ) {
        storage = SharedFields(
            Fields(
                path: path, size: size, sha512: sha512, nuspec: nuspec, nuspecEntry: nuspecEntry, packedAt: packedAt,
                isSigned: isSigned, signerFingerprint: signerFingerprint, icon: icon, readme: readme,
                licenseFile: licenseFile, warnings: warnings, entries: entries))
    }

    /// The identity of the file when its bytes were read and hashed (set by whoever checked it);
    /// nil when unknown. A copy made later is checked against it instead of hashed again.
    public var readIdentity: FileIdentity? {
        get { storage.fields.readIdentity }
        set { storage.fields.readIdentity = newValue }
    }

    /// The file it was read from.
    public var path: String {
        get { storage.fields.path }
        set { storage.fields.path = newValue }
    }
    public var size: Int64 {
        get { storage.fields.size }
        set { storage.fields.size = newValue }
    }
    /// Base64 SHA-512 of the whole file, as NuGet writes it to `.nupkg.sha512`.
    public var sha512: String {
        get { storage.fields.sha512 }
        set { storage.fields.sha512 = newValue }
    }
    public var nuspec: Nuspec {
        // Borrowed, not copied: `archive.nuspec.id` reads one field of the shared nuspec.
        _read { yield storage.fields.nuspec }
        set { storage.fields.nuspec = newValue }
    }
    /// Name of the nuspec entry at the package root (any case).
    public var nuspecEntry: String {
        get { storage.fields.nuspecEntry }
        set { storage.fields.nuspecEntry = newValue }
    }
    /// Modification time of the nuspec entry, the package's own record of when it was packed;
    /// used as `published` so that a build never depends on the clock.
    public var packedAt: Date {
        get { storage.fields.packedAt }
        set { storage.fields.packedAt = newValue }
    }
    /// True when the package carries a NuGet signature (`.signature.p7s` at the root).
    public var isSigned: Bool {
        get { storage.fields.isSigned }
        set { storage.fields.isSigned = newValue }
    }
    /// SHA-256 fingerprint (upper-case hex) of the certificate that made the primary signature,
    /// when the signature can be read (`PackageSignature`; not verified cryptographically).
    public var signerFingerprint: String? {
        get { storage.fields.signerFingerprint }
        set { storage.fields.signerFingerprint = newValue }
    }
    /// The embedded icon, readme and license file the nuspec names, when present and readable.
    public var icon: EmbeddedFile? {
        get { storage.fields.icon }
        set { storage.fields.icon = newValue }
    }
    public var readme: EmbeddedFile? {
        get { storage.fields.readme }
        set { storage.fields.readme = newValue }
    }
    public var licenseFile: EmbeddedFile? {
        get { storage.fields.licenseFile }
        set { storage.fields.licenseFile = newValue }
    }
    /// Problems that did not stop the package from being served (a missing icon, say).
    public var warnings: [String] {
        get { storage.fields.warnings }
        set { storage.fields.warnings = newValue }
    }
    /// The package's files, as nuget.org's catalog lists them (`packageEntries`).
    public var entries: [Entry] {
        get { storage.fields.entries }
        set { storage.fields.entries = newValue }
    }

    /// One file of the package, as nuget.org's catalog lists it (NuGetGallery
    /// `src/Catalog/Helpers/Utils.cs` `GetEntries`, from .NET's `ZipArchiveEntry`).
    public struct Entry: Sendable, Hashable {
        /// The name as stored (`lib/net8.0/X.dll`).
        public var fullName: String
        /// Uncompressed and compressed sizes.
        public var length: Int64
        public var compressedLength: Int64
        /// Not made on Unix: `name` splits on `\` and `:` too (`ZipAudit.Entry.splitsOnBackslash`).
        public var splitsOnBackslash: Bool

        public init(fullName: String, length: Int64, compressedLength: Int64, splitsOnBackslash: Bool) {
            self.fullName = fullName
            self.length = length
            self.compressedLength = compressedLength
            self.splitsOnBackslash = splitsOnBackslash
        }

        /// The file name (`X.dll`; "" for a folder), as `ZipArchiveEntry.Name` gives it.
        public var name: String {
            let separators: Set<Character> = splitsOnBackslash ? ["/", "\\", ":"] : ["/"]
            guard let last = fullName.lastIndex(where: separators.contains) else { return fullName }
            return String(fullName[fullName.index(after: last)...])
        }

        /// The entries nuget.org lists: not the packaging parts (`.rels`, `[Content_Types].xml`,
        /// `.psmdcp`, compared without case), and of entries whose names differ only in case or in
        /// `\` for `/`, the first.
        static func listed(_ entries: [ZipAudit.Entry]) -> [Entry] {
            var seen = Set<String>()
            var out: [Entry] = []
            for e in entries {
                let lower = e.name.lowercased()
                if lower.hasSuffix("/.rels") || lower.hasSuffix("[content_types].xml") || lower.hasSuffix(".psmdcp") {
                    continue
                }
                guard seen.insert(lower.replacingOccurrences(of: "\\", with: "/")).inserted else { continue }
                out.append(
                    Entry(
                        fullName: e.name, length: Int64(e.uncompressedSize), compressedLength: Int64(e.compressedSize),
                        splitsOnBackslash: e.splitsOnBackslash))
            }
            return out
        }
    }

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
    /// The archive's structure is refused (`ZipAudit`).
    case zip(ZipAudit.Problem)
    /// The file's size or times moved between the start and the end of reading it.
    case changedWhileReading
    /// A symbolic link that leads nowhere: a loop or a missing target.
    case brokenLink
    /// An embedded icon, readme or license path that climbs out of the package.
    case escapingPath(what: String, path: String)

    public var description: String {
        switch self {
        case .unreadable(let why):
            return "cannot read the file (\(why)); give the build read access to it, or remove it"
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
        case .zip(let problem):
            return "\(problem); the package is refused: replace it with a package made by `dotnet pack` or `nuget pack`"
        case .brokenLink:
            return "the file is a symbolic link that leads nowhere (a loop or a missing target); fix or remove the link"
        case .changedWhileReading:
            return "the file changed while it was being read; run the build again once it is completely written"
        case .escapingPath(let what, let path):
            return "the nuspec's \(what) path '\(ZipAudit.printable(path))' points outside the package; repack it "
                + "with a path inside the package"
        }
    }
}

extension PackageArchive {
    /// Upper bound on an embedded icon, readme or license file; nuget.org allows 1 MB icons.
    public static let maxEmbeddedFileSize: Int64 = 16 * 1024 * 1024

    /// Reads a package file once: SHA-512 of the whole file, the zip's structure (`ZipAudit`),
    /// the root nuspec, the embedded files it names, and every other entry inflated once to check
    /// its CRC (nothing is kept in memory but the nuspec).
    public static func read(path: String, limits: ZipAudit.Limits = ZipAudit.Limits()) throws(PackageArchiveError)
        -> PackageArchive
    {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            var link = stat()
            if code == ELOOP || (code == ENOENT && lstat(path, &link) == 0) { throw .brokenLink }
            throw .unreadable(String(cString: strerror(code)))
        }
        defer { close(fd) }
        var before = stat()
        guard fstat(fd, &before) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        guard before.st_mode & S_IFMT == S_IFREG else { throw .unreadable("it is not a regular file") }
        let (size, sha512, head) = try hashFile(fd)
        if size == 0 { throw .empty }
        if head.starts(with: Array("version https://git-lfs".utf8)) { throw .gitLFSPointer }
        let entries: [ZipAudit.Entry]
        do {
            entries = try ZipAudit.audit(fileDescriptor: fd, fileSize: UInt64(size), limits: limits)
        } catch .notZip {
            throw .notZip
        } catch {
            throw .zip(error)
        }

        // PackageArchiveReader.GetNuspecFile: a file at the root ending in .nuspec, any case.
        let rootNuspecs = entries.filter { e in
            let p = e.name
            return !e.isDirectory && !p.contains("/") && !p.contains("\\") && p.lowercased().hasSuffix(".nuspec")
        }
        guard let nuspecEntry = rootNuspecs.first else { throw .noNuspec }
        if rootNuspecs.count > 1 { throw .severalNuspecs(rootNuspecs.map(\.name).sorted()) }
        if nuspecEntry.uncompressedSize > UInt64(Nuspec.maxSize) {
            throw .nuspecTooLarge(Int64(nuspecEntry.uncompressedSize))
        }
        let nuspecData: Data
        do {
            nuspecData = try ZipEntryReader.extract(nuspecEntry, fileDescriptor: fd, limit: Int64(Nuspec.maxSize))
        } catch {
            throw .nuspecUnreadable(error.why)
        }
        let nuspec: Nuspec
        do {
            nuspec = try Nuspec(data: nuspecData)
        } catch {
            throw .nuspec(error)
        }

        // A declared path that climbs out of the package is hostile, not a slip: refused.
        for (what, declared) in [
            ("icon", nuspec.icon), ("readme", nuspec.readme),
            ("license file", nuspec.license?.kind == .file ? nuspec.license?.text : nil),
        ] {
            if let declared, ZipAudit.unsafeReason(declared) != nil {
                throw .escapingPath(what: what, path: declared)
            }
        }

        var warnings: [String] = []
        var checked: Set<String> = [nuspecEntry.name]
        var damaged: [(entry: String, why: String)] = []
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
            checked.insert(entry.name)
            do {
                try ZipEntryReader.verify(entry, fileDescriptor: fd)
            } catch {
                damaged.append((entry.name, error.why))
                warnings.append("the \(what) '\(declared)' is corrupt (\(error.why)); it is not published")
                return nil
            }
            return EmbeddedFile(entry: entry.name, size: Int64(entry.uncompressedSize), fileExtension: ext)
        }
        let icon = embedded(nuspec.icon, what: "icon", extensions: [".png", ".jpg", ".jpeg"])
        let readme = embedded(nuspec.readme, what: "readme", extensions: [".md"])
        let license =
            nuspec.license?.kind == .file
            ? embedded(nuspec.license?.text, what: "license file", extensions: [".txt", ".md", ""]) : nil

        let packedAt = ZipEntryReader.modificationDate(nuspecEntry)
        let signature = entries.first { $0.name == ".signature.p7s" && !$0.isDirectory }
        var signer: String?
        if let signature {
            checked.insert(signature.name)
            if let bytes = try? ZipEntryReader.extract(signature, fileDescriptor: fd, limit: 1 << 20) {
                signer = PackageSignature.signerFingerprint([UInt8](bytes))
            }
        }

        // Every other entry is inflated once and checked against its CRC and declared size.
        // Damage (lost or flipped bytes) outside the nuspec leaves the metadata readable, so the
        // version stays in the feed with a warning: clients read it, but extracting it fails.
        for entry in entries where !entry.isDirectory && !checked.contains(entry.name) {
            do {
                try ZipEntryReader.verify(entry, fileDescriptor: fd)
            } catch {
                damaged.append((entry.name, error.why))
            }
        }
        if let first = damaged.first {
            let more = damaged.count > 1 ? " (and \(damaged.count - 1) more damaged entries)" : ""
            warnings.append(
                "the entry '\(ZipAudit.printable(first.entry))' is corrupt (\(first.why))\(more); NuGet clients "
                    + "will fail to extract this package: replace it with an intact copy")
        }

        var after = stat()
        var now = stat()
        guard fstat(fd, &after) == 0, stat(path, &now) == 0, after.st_size == before.st_size,
            POSIX.modificationTime(after) == POSIX.modificationTime(before),
            POSIX.changeTime(after) == POSIX.changeTime(before),
            now.st_ino == before.st_ino, now.st_dev == before.st_dev, Int64(before.st_size) == size
        else { throw .changedWhileReading }

        return PackageArchive(
            path: path, size: size, sha512: sha512, nuspec: nuspec, nuspecEntry: nuspecEntry.name,
            packedAt: packedAt, isSigned: signature != nil, signerFingerprint: signer, icon: icon, readme: readme,
            licenseFile: license, warnings: warnings, entries: Entry.listed(entries))
    }

    /// Extracts one entry of a package into memory, checking the archive, its CRC and a size limit.
    public static func extractEntry(_ name: String, fromPackageAt path: String, limit: Int64) throws -> Data {
        try withEntry(name, of: path) { entry, fd throws in
            try ZipEntryReader.extract(entry, fileDescriptor: fd, limit: limit)
        }
    }

    /// The first `count` bytes of one entry of a package (a header), inflated no further.
    public static func extractPrefix(_ name: String, fromPackageAt path: String, count: Int) throws -> Data {
        try withEntry(name, of: path) { entry, fd throws in
            try ZipEntryReader.extractPrefix(entry, fileDescriptor: fd, count: count)
        }
    }

    /// Opens a package, audits its archive, and gives `body` the named entry and the file.
    static func withEntry<T>(_ name: String, of path: String, _ body: (ZipAudit.Entry, Int32) throws -> T) throws -> T {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PackageArchiveError.unreadable(String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw PackageArchiveError.unreadable(String(cString: strerror(errno))) }
        let entries = try ZipAudit.audit(fileDescriptor: fd, fileSize: UInt64(st.st_size))
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw PackageArchiveError.nuspecUnreadable("no entry \(name)")
        }
        return try body(entry, fd)
    }

    /// Finds the entry a nuspec path names: `\` and `/` are the same separator, a leading `./`
    /// or `/` is ignored, entry names may be percent-encoded (OPC), and the match falls back to
    /// case-insensitive, as NuGet's `PackageArchiveReader` does.
    static func findEntry(_ declared: String, in entries: [ZipAudit.Entry]) -> ZipAudit.Entry? {
        let wanted = normalizeEntryPath(declared)
        guard !wanted.isEmpty, !wanted.split(separator: "/").contains("..") else { return nil }
        let files = entries.filter { !$0.isDirectory }
        if let exact = files.first(where: { normalizeEntryPath($0.name) == wanted }) { return exact }
        let lower = wanted.lowercased()
        return files.first { normalizeEntryPath($0.name).lowercased() == lower }
    }

    static func normalizeEntryPath(_ path: String) -> String {
        // Most names have nothing to normalize: no Foundation call (an NSString round trip on
        // Linux) for them, since this runs for every entry a declared file is looked for in.
        if path.utf8.first != 0x2E && path.utf8.first != 0x2F
            && !path.utf8.contains(where: { $0 == 0x5C || $0 == 0x25 })
        {
            return path
        }
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
    static func hashFile(_ fd: Int32) throws(PackageArchiveError) -> (Int64, String, [UInt8]) {
        var hasher = SHA512()
        var size: Int64 = 0
        var head: [UInt8] = []
        let bufferSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = pread(fd, buffer.baseAddress, bufferSize, off_t(size))
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)))
            }
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if head.isEmpty { head = Array(chunk.prefix(64)) }
            hasher.update(bufferPointer: chunk)
            size += Int64(n)
        }
        return (size, Data(hasher.finalize()).base64EncodedString(), head)
    }
}
