import Foundation
import NuGetCore

#if canImport(Glibc)
    import Glibc
#endif

/// A state file in two parts: a head that every build reads (what each record is, in a few
/// dozen bytes), then a body of records that a build reads only for what it needs (the package
/// records of the ids that changed). At 100,000 package versions the bodies hold hundreds of
/// megabytes that an add-one build never touches.
///
/// Layout: magic, head length (8 bytes, little-endian), head, body. A record's place is a range
/// of the body. The head and each record end in their CRC-32 (`sealed`): the body is read a
/// record at a time, long after the head was checked, and damaged bytes must read as damaged,
/// not as another id, another list of paths or another package.
enum SplitFile {
    /// A record as stored in a body: its bytes, then their CRC-32 (4 bytes, little-endian).
    static func sealed(_ record: [UInt8]) -> [UInt8] {
        let crc = Gzip.crc32(record)
        var out = record
        out.reserveCapacity(record.count + 4)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        return out
    }

    /// Takes the check off sealed bytes, in place; false when it fails.
    static func unseal(_ stored: inout [UInt8]) -> Bool {
        guard stored.count >= 4 else { return false }
        var crc: UInt32 = 0
        for (i, b) in stored.suffix(4).enumerated() { crc |= UInt32(b) << UInt32(8 * i) }
        let computed = stored.withUnsafeBytes { Gzip.crc32(UnsafeRawBufferPointer(rebasing: $0.dropLast(4))) }
        guard computed == crc else { return false }
        stored.removeLast(4)
        return true
    }

    static func encode(magic: [UInt8], head: [UInt8], body: [UInt8]) -> Data {
        // The head is sealed too: every build trusts it to say which records there are.
        let head = sealed(head)
        var w = CacheWriter()
        w.int(Int64(head.count))
        var out = magic
        out.reserveCapacity(magic.count + 8 + head.count + body.count)
        out += w.bytes
        out += head
        out += body
        return Data(out)
    }

    enum Head {
        case missing
        case damaged
        case read(head: [UInt8], body: Body)
    }

    /// The head of the file at `path`, and its body to read from later (through the same open
    /// file, so that it stays the body of this head even after a build renames a new file
    /// into its place).
    static func readHead(path: String, magic: [UInt8]) -> Head {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno == ENOENT ? .missing : .damaged }
        var st = stat()
        let size = fstat(fd, &st) == 0 ? Int(st.st_size) : -1
        let start = magic.count + 8
        guard size >= start, let prefix = Body.pread(fd, 0..<start), Array(prefix.prefix(magic.count)) == magic else {
            close(fd)
            return .damaged
        }
        var r = CacheReader(Array(prefix.suffix(8)))
        guard let headLength = try? Int(r.int()), headLength >= 0, start + headLength <= size,
            var head = Body.pread(fd, start..<start + headLength), unseal(&head)
        else {
            close(fd)
            return .damaged
        }
        return .read(head: head, body: Body(fd: fd, base: start + headLength, length: size - start - headLength))
    }

    /// The body of a split file, read a record at a time through the file it was read from.
    final class Body: Sendable {
        let fd: Int32
        let base: Int
        let length: Int

        init(fd: Int32, base: Int, length: Int) {
            self.fd = fd
            self.base = base
            self.length = length
        }

        deinit { close(fd) }

        /// The record sealed in `range` (of the body); nil when it cannot be read or is damaged.
        func read(_ range: Range<Int>) -> [UInt8]? {
            guard var bytes = readSealed(range), SplitFile.unseal(&bytes) else { return nil }
            return bytes
        }

        /// The bytes of `range` as stored, check included, to be copied into a new file whole
        /// (damage, if any, stays detectable there); nil when they cannot be read.
        func readSealed(_ range: Range<Int>) -> [UInt8]? {
            guard range.lowerBound >= 0, range.upperBound <= length else { return nil }
            return Self.pread(fd, base + range.lowerBound..<base + range.upperBound)
        }

        static func pread(_ fd: Int32, _ range: Range<Int>) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: range.count)
            var done = 0
            while done < range.count {
                let n = out.withUnsafeMutableBytes {
                    Glibc.pread(fd, $0.baseAddress! + done, range.count - done, off_t(range.lowerBound + done))
                }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return nil }
                done += n
            }
            return out
        }
    }
}
