import Foundation
import NuGetCore

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

    /// The head of a stored record, and its body to read from later (through the same opened
    /// record, so that it stays the body of this head even after a build replaces the record).
    static func readHead(_ opening: StoredRecordOpening, magic: [UInt8]) -> Head {
        let file: any StoredRecord
        switch opening {
        case .missing: return .missing
        case .unreadable: return .damaged
        case .opened(let opened): file = opened
        }
        let start = magic.count + 8
        guard file.size >= start, let prefix = file.read(0..<start), Array(prefix.prefix(magic.count)) == magic else {
            return .damaged
        }
        var r = CacheReader(Array(prefix.suffix(8)))
        guard let headLength = try? r.int(),
            let range = CacheReader.range(offset: Int64(start), length: headLength, within: file.size),
            var head = file.read(range), unseal(&head)
        else {
            return .damaged
        }
        return .read(
            head: head, body: Body(file: file, base: range.upperBound, length: file.size - range.upperBound))
    }

    /// The body of a split record, read a record at a time through the stored record it was read
    /// from. A class: every entry of a shard holds it, as one reference.
    final class Body: Sendable {
        let file: any StoredRecord
        let base: Int
        let length: Int

        init(file: any StoredRecord, base: Int, length: Int) {
            self.file = file
            self.base = base
            self.length = length
        }

        /// The record sealed in `range` (of the body); nil when it cannot be read or is damaged.
        func read(_ range: Range<Int>) -> [UInt8]? {
            guard var bytes = readSealed(range), SplitFile.unseal(&bytes) else { return nil }
            return bytes
        }

        /// The bytes of `range` as stored, check included, to be copied into a new record whole
        /// (damage, if any, stays detectable there); nil when they cannot be read.
        func readSealed(_ range: Range<Int>) -> [UInt8]? {
            guard range.lowerBound >= 0, range.upperBound <= length else { return nil }
            return file.read(base + range.lowerBound..<base + range.upperBound)
        }
    }
}
