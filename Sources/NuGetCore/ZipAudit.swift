import Foundation
import NuGetCore

/// A structural check of a zip archive, made before any entry is extracted.
///
/// Written by hand on purpose: a general zip library trusts the central directory, and a hostile
/// package is exactly one whose central directory lies; `ZipEntryReader` then inflates only what
/// this audit placed. This
/// reads the end-of-central-directory record (and its Zip64 form), every central directory record
/// and every local header, and refuses an archive that a NuGet client would choke on or that is
/// built to hurt whoever extracts it: entries that point outside the file or overlap each other
/// (the "overlapping files" zip bomb), local headers that disagree with the directory, sizes or
/// ratios past `Limits`, entry names that escape the extraction folder the way NuGet's
/// `PackageReaderBase.ValidatePackageEntry` checks them, names with NUL, duplicate names,
/// symbolic links, encrypted entries and compression methods other than stored and deflate.
///
/// Format reference: PKWARE APPNOTE.TXT 6.3.x, sections 4.3.7 (local header), 4.3.12 (central
/// directory header), 4.3.14 to 4.3.16 (Zip64 and end records), 4.5.3 (Zip64 extra field).
public enum ZipAudit {
    /// Limits past which an archive is refused as a zip bomb. Declared sizes are what a client
    /// trusts (NuGet reads at most an entry's declared length), and every extraction Shelf makes
    /// checks the inflated size against the declared one.
    public struct Limits: Sendable, Hashable {
        /// Entries in one archive (real packages have hundreds; the largest on nuget.org a few thousands).
        public var maxEntries: Int = 100_000
        /// Sum of the declared uncompressed sizes.
        public var maxTotalUncompressed: UInt64 = 4 << 30
        /// Largest ratio of uncompressed to compressed size for one entry, applied to entries
        /// larger than `ratioFloor`. Deflate tops out near 1,032:1, reached only by runs of one
        /// byte; a few MB of zero padding is legitimate, 64 MiB of it in a package is a bomb.
        public var maxRatio: UInt64 = 1_000
        public var ratioFloor: UInt64 = 64 << 20
        /// Longest entry name, in bytes.
        public var maxNameLength: Int = 4_096

        public init() {}
    }

    /// One entry as the central directory declares it, checked against its local header.
    public struct Entry: Sendable, Hashable {
        /// The name as stored, decoded (UTF-8 when flagged, otherwise code page 437 read as Latin-1).
        public var name: String
        public var method: UInt16
        public var crc32: UInt32
        public var compressedSize: UInt64
        public var uncompressedSize: UInt64
        /// MS-DOS date and time from the central directory.
        public var dosDate: UInt16
        public var dosTime: UInt16
        public var localHeaderOffset: UInt64
        /// Offset of the first byte of the entry's data; nil when the local header is damaged.
        public var dataOffset: UInt64?
        /// Why the entry cannot be extracted (its local header is missing or garbled), when it
        /// cannot. Damage (zeroed or lost bytes) is told apart from lies (a local header that
        /// names another entry): damage leaves the rest of the package readable.
        public var damage: String?
        /// The central directory does not say the entry was made on Unix (version made by, high
        /// byte other than 3): .NET's `ZipArchiveEntry.Name` then reads the name by the rule of
        /// the platform it runs on, Windows for nuget.org's catalog job, splitting on `\` and `:`
        /// as well as `/`.
        public var splitsOnBackslash = false
        public var isDirectory: Bool { name.hasSuffix("/") || name.hasSuffix("\\") }
    }

    /// Why an archive is refused. The messages say what is wrong; the caller adds what to do.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notZip
        case truncated(String)
        case directoryLies(String)
        case spanned
        case tooManyEntries(Int, limit: Int)
        case tooLarge(UInt64, limit: UInt64)
        case ratio(entry: String, UInt64, limit: UInt64)
        case overlapping(String, String)
        case unsafeName(String, why: String)
        case duplicateName(String)
        case symlink(String)
        case encrypted(String)
        case unsupportedMethod(String, UInt16)

        public var description: String {
            switch self {
            case .notZip:
                return "the file is not a zip archive (no end-of-central-directory record)"
            case .truncated(let what):
                return "the zip archive is truncated (\(what))"
            case .directoryLies(let what):
                return "the zip's central directory does not match its contents (\(what))"
            case .spanned:
                return "the zip archive spans several disks, which NuGet cannot read"
            case .tooManyEntries(let n, let limit):
                return "the zip archive has \(n) entries, over the limit of \(limit) (zip bomb?)"
            case .tooLarge(let n, let limit):
                return "the zip archive inflates to \(n) bytes, over the limit of \(limit) (zip bomb?)"
            case .ratio(let entry, let ratio, let limit):
                return
                    "the entry '\(entry)' inflates \(ratio) times its compressed size, over the limit of \(limit) (zip bomb?)"
            case .overlapping(let a, let b):
                return "the entries '\(a)' and '\(b)' share bytes in the archive (an overlapping-entries zip bomb?)"
            case .unsafeName(let name, let why):
                return "the entry name '\(name)' \(why), so extracting it could write outside the package folder"
            case .duplicateName(let name):
                return "the entry '\(name)' is in the archive more than once, and clients would disagree on its content"
            case .symlink(let name):
                return "the entry '\(name)' is a symbolic link, which a package never holds"
            case .encrypted(let name):
                return "the entry '\(name)' is encrypted, which NuGet cannot read"
            case .unsupportedMethod(let name, let method):
                return
                    "the entry '\(name)' uses compression method \(method); packages use only stored (0) and deflate (8)"
            }
        }
    }

    /// Reads and checks the archive's directory. `fileSize` is the size the caller measured.
    public static func audit(fileDescriptor fd: Int32, fileSize: UInt64, limits: Limits = Limits()) throws(Problem)
        -> [Entry]
    {
        let reader = Reader(fd: fd, size: fileSize)
        let end = try findEnd(reader)
        if end.entryCount > UInt64(limits.maxEntries) {
            throw .tooManyEntries(Int(clamping: end.entryCount), limit: limits.maxEntries)
        }
        guard end.directoryOffset <= fileSize, end.directorySize <= fileSize - end.directoryOffset else {
            throw .truncated("the central directory lies past the end of the file")
        }
        guard let directory = reader.read(at: end.directoryOffset, count: Int(end.directorySize)) else {
            throw .truncated("the central directory cannot be read")
        }

        var entries: [Entry] = []
        entries.reserveCapacity(Int(end.entryCount))
        var seen = Set<String>()
        var total: UInt64 = 0
        var pos = 0
        while entries.count < Int(end.entryCount) {
            guard pos + 46 <= directory.count, directory.u32(pos) == 0x0201_4b50 else {
                throw .directoryLies(
                    "it declares \(end.entryCount) entries but holds \(entries.count) readable records")
            }
            let versionMadeBy = directory.u16(pos + 4)
            let flags = directory.u16(pos + 8)
            let method = directory.u16(pos + 10)
            let dosTime = directory.u16(pos + 12)
            let dosDate = directory.u16(pos + 14)
            let crc = directory.u32(pos + 16)
            var compressed = UInt64(directory.u32(pos + 20))
            var uncompressed = UInt64(directory.u32(pos + 24))
            let nameLength = Int(directory.u16(pos + 28))
            let extraLength = Int(directory.u16(pos + 30))
            let commentLength = Int(directory.u16(pos + 32))
            let diskStart = directory.u16(pos + 34)
            let externalAttributes = directory.u32(pos + 38)
            var localOffset = UInt64(directory.u32(pos + 42))
            let recordEnd = pos + 46 + nameLength + extraLength + commentLength
            guard recordEnd <= directory.count else {
                throw .truncated("a central directory record runs past the directory's end")
            }
            guard nameLength <= limits.maxNameLength else {
                throw .unsafeName(String(repeating: "…", count: 1), why: "is \(nameLength) bytes long")
            }
            let nameBytes = directory[(pos + 46)..<(pos + 46 + nameLength)]
            let name = try decodeName(nameBytes, utf8: flags & 0x0800 != 0)

            // Zip64 extended information (APPNOTE 4.5.3): only the fields that overflowed, in order.
            var extra = pos + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let tag = directory.u16(extra)
                let size = Int(directory.u16(extra + 2))
                let body = extra + 4
                guard body + size <= extraEnd else { break }
                if tag == 0x0001 {
                    var field = body
                    func next() throws(Problem) -> UInt64 {
                        guard field + 8 <= body + size else {
                            throw .directoryLies("the Zip64 field of '\(name)' is too short")
                        }
                        defer { field += 8 }
                        return directory.u64(field)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                }
                extra = body + size
            }
            pos = recordEnd

            if diskStart != 0 && diskStart != 0xFFFF { throw .spanned }
            if flags & 0x0001 != 0 { throw .encrypted(name) }
            // A symbolic link: made on Unix (high byte 3) with S_IFLNK in the mode bits.
            if versionMadeBy >> 8 == 3, (externalAttributes >> 16) & 0o170000 == 0o120000 { throw .symlink(name) }
            if method != 0 && method != 8 { throw .unsupportedMethod(name, method) }
            if method == 0 && compressed != uncompressed {
                throw .directoryLies(
                    "the stored entry '\(name)' declares \(compressed) bytes stored but \(uncompressed) bytes")
            }
            if let why = unsafeReason(name) { throw .unsafeName(printable(name), why: why) }
            let key = normalized(name)
            if !seen.insert(key).inserted { throw .duplicateName(printable(name)) }

            total = total.addingReportingOverflow(uncompressed).overflow ? .max : total + uncompressed
            if total > limits.maxTotalUncompressed { throw .tooLarge(total, limit: limits.maxTotalUncompressed) }
            if uncompressed > limits.ratioFloor, uncompressed / max(compressed, 1) > limits.maxRatio {
                throw .ratio(entry: printable(name), uncompressed / max(compressed, 1), limit: limits.maxRatio)
            }

            // The local header must be where the directory says, name the same entry and use the
            // same method; the data must end before the central directory.
            guard localOffset < end.directoryOffset else {
                throw .directoryLies("the local header of '\(printable(name))' lies past the central directory")
            }
            guard let local = reader.read(at: localOffset, count: 30), local.u32(0) == 0x0403_4b50 else {
                entries.append(
                    Entry(
                        name: name, method: method, crc32: crc, compressedSize: compressed,
                        uncompressedSize: uncompressed, dosDate: dosDate, dosTime: dosTime,
                        localHeaderOffset: localOffset,
                        dataOffset: nil,
                        damage: "no local header at offset \(localOffset)", splitsOnBackslash: versionMadeBy >> 8 != 3))
                continue
            }
            let localNameLength = Int(local.u16(26))
            let localExtraLength = UInt64(local.u16(28))
            guard local.u16(8) == method else {
                throw .directoryLies("the local header of '\(printable(name))' names another compression method")
            }
            guard localNameLength == nameLength,
                let localName = reader.read(at: localOffset + 30, count: localNameLength),
                localName.elementsEqual(nameBytes)
            else {
                throw .directoryLies(
                    "the local header at offset \(localOffset) names another entry than '\(printable(name))'")
            }
            if local.u16(6) & 0x0008 == 0 {
                let localCRC = local.u32(14)
                let localCompressed = UInt64(local.u32(18))
                let localUncompressed = UInt64(local.u32(22))
                let zip64 = localCompressed == 0xFFFF_FFFF || localUncompressed == 0xFFFF_FFFF
                if !zip64 && (localCRC != crc || localCompressed != compressed || localUncompressed != uncompressed) {
                    throw .directoryLies("the local header of '\(printable(name))' declares other sizes or CRC")
                }
            }
            let dataOffset = localOffset + 30 + UInt64(localNameLength) + localExtraLength
            guard dataOffset <= end.directoryOffset, compressed <= end.directoryOffset - dataOffset else {
                throw .directoryLies("the data of '\(printable(name))' runs past the start of the central directory")
            }
            entries.append(
                Entry(
                    name: name, method: method, crc32: crc, compressedSize: compressed, uncompressedSize: uncompressed,
                    dosDate: dosDate, dosTime: dosTime, localHeaderOffset: localOffset, dataOffset: dataOffset,
                    damage: nil, splitsOnBackslash: versionMadeBy >> 8 != 3))
        }

        // No two entries may share bytes: sorted by position, each ends before the next begins.
        let byOffset = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) {
            let aEnd = (a.dataOffset ?? a.localHeaderOffset + 30) + (a.dataOffset == nil ? 0 : a.compressedSize)
            if aEnd > b.localHeaderOffset { throw .overlapping(printable(a.name), printable(b.name)) }
        }
        return entries
    }

    /// Why NuGet would refuse to extract an entry of this name, or nil when it is safe. NuGet
    /// strips one leading `/`, percent-decodes the name, treats `\` as a separator on Windows and
    /// refuses a path that resolves outside the destination (`PackageArchiveReader.CopyFiles`);
    /// Windows also trims trailing dots and spaces from each segment, so `.. ` is `..` there.
    public static func unsafeReason(_ name: String) -> String? {
        if name.utf8.contains(0) { return "contains a NUL byte" }
        var path = Self.decoded(name)
        if path.utf8.contains(0) { return "contains an encoded NUL byte" }
        path = Self.slashed(path)
        if path.hasPrefix("/") { path.removeFirst() }
        if path.hasPrefix("/") { return "is an absolute or network path" }
        let scalars = Array(path.unicodeScalars.prefix(2))
        if scalars.count == 2, scalars[1] == ":", scalars[0].isASCII,
            Character(scalars[0]).isLetter
        {
            return "starts with a drive letter"
        }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            let dots = segment.filter { $0 == "." }.count
            if dots >= 2, segment.allSatisfy({ $0 == "." || $0 == " " }) { return "climbs out with '..'" }
        }
        return nil
    }

    /// The form two names that extract to the same file share.
    static func normalized(_ name: String) -> String {
        var path = slashed(decoded(name))
        if path.hasPrefix("/") { path.removeFirst() }
        return path
    }

    /// Percent-decoded, as NuGet extracts entry names (Foundation is only asked when there is a `%`).
    static func decoded(_ name: String) -> String {
        name.utf8.contains(0x25) ? (name.removingPercentEncoding ?? name) : name
    }

    /// Backslashes as slashes (Foundation is only asked when there is one).
    static func slashed(_ name: String) -> String {
        name.utf8.contains(0x5C) ? name.replacingOccurrences(of: "\\", with: "/") : name
    }

    /// A name fit for a one-line message: control characters escaped, at most 200 characters.
    public static func printable(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += String(format: "\\x%02X", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
            if out.count > 200 { return out + "…" }
        }
        return out
    }

    private static func decodeName(_ bytes: Data.SubSequence, utf8: Bool) throws(Problem) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        if utf8 {
            throw .unsafeName(String(decoding: bytes, as: UTF8.self), why: "is not valid UTF-8 although flagged so")
        }
        // Code page 437, as the zip format defines for unflagged names; its ASCII half is what
        // matters for paths, and the rest is shown as Latin-1 in messages.
        return String(bytes.map { Character(Unicode.Scalar($0)) })
    }

    private struct End {
        var entryCount: UInt64
        var directorySize: UInt64
        var directoryOffset: UInt64
    }

    private static func findEnd(_ reader: Reader) throws(Problem) -> End {
        let size = reader.size
        guard size >= 22 else { throw .notZip }
        let tailLength = Int(min(size, 22 + 65_535 + 20))
        guard let tail = reader.read(at: size - UInt64(tailLength), count: tailLength) else {
            throw .truncated("the end of the file cannot be read")
        }
        // The last end record whose comment fits in the file, searching backwards as .NET does.
        var at = tail.count - 22
        var found: Int?
        while at >= 0 {
            if tail.u32(at) == 0x0605_4b50, at + 22 + Int(tail.u16(at + 20)) <= tail.count {
                found = at
                break
            }
            at -= 1
        }
        guard let eocd = found else { throw .notZip }
        let disk = tail.u16(eocd + 4)
        let directoryDisk = tail.u16(eocd + 6)
        var end = End(
            entryCount: UInt64(tail.u16(eocd + 10)), directorySize: UInt64(tail.u32(eocd + 12)),
            directoryOffset: UInt64(tail.u32(eocd + 16)))
        let onThisDisk = tail.u16(eocd + 8)
        let needsZip64 =
            end.entryCount == 0xFFFF || end.directorySize == 0xFFFF_FFFF || end.directoryOffset == 0xFFFF_FFFF
        let locatorAt = eocd - 20
        if locatorAt >= 0, tail.u32(locatorAt) == 0x0706_4b50 {
            let recordOffset = tail.u64(locatorAt + 8)
            guard let record = reader.read(at: recordOffset, count: 56), record.u32(0) == 0x0606_4b50 else {
                throw .directoryLies("the Zip64 locator points to no Zip64 end record")
            }
            if record.u32(16) != 0 || record.u32(20) != 0 { throw .spanned }
            let zip64 = End(entryCount: record.u64(32), directorySize: record.u64(40), directoryOffset: record.u64(48))
            // .NET (and so NuGet) reads the Zip64 record only for the fields the classic record
            // saturates. Two records that name different directories would let Shelf audit one
            // archive while clients extract another: refused.
            if end.entryCount != 0xFFFF && end.entryCount != zip64.entryCount
                || end.directorySize != 0xFFFF_FFFF && end.directorySize != zip64.directorySize
                || end.directoryOffset != 0xFFFF_FFFF && end.directoryOffset != zip64.directoryOffset
            {
                throw .directoryLies("the Zip64 end record and the classic one name different central directories")
            }
            end = zip64
        } else if needsZip64 {
            throw .truncated("the archive needs a Zip64 end record and has none")
        } else if disk != 0 || directoryDisk != 0 || onThisDisk != end.entryCount {
            throw .spanned
        }
        if end.entryCount == 0 { throw .notZip }
        return end
    }

    /// Positioned reads on a file descriptor; nil when the range cannot be read in full.
    private struct Reader {
        var fd: Int32
        var size: UInt64

        func read(at offset: UInt64, count: Int) -> Data? {
            guard count >= 0, offset <= size, UInt64(count) <= size - offset else { return nil }
            var data = Data(count: count)
            var done = 0
            let ok = data.withUnsafeMutableBytes { buffer -> Bool in
                guard let base = buffer.baseAddress else { return count == 0 }
                while done < count {
                    let n = pread(fd, base + done, count - done, off_t(offset) + off_t(done))
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return false }
                    done += n
                }
                return true
            }
            return ok ? data : nil
        }
    }
}

extension Data {
    fileprivate func u16(_ at: Int) -> UInt16 {
        let i = startIndex + at
        return UInt16(self[i]) | UInt16(self[i + 1]) << 8
    }
    fileprivate func u32(_ at: Int) -> UInt32 {
        UInt32(u16(at)) | UInt32(u16(at + 2)) << 16
    }
    fileprivate func u64(_ at: Int) -> UInt64 {
        UInt64(u32(at)) | UInt64(u32(at + 4)) << 32
    }
}
