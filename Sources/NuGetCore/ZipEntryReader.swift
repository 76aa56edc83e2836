import CShelfZlib
import Foundation
import NuGetCore

/// Inflates the entries `ZipAudit` vouched for, straight from the file with zlib, checking each
/// one's CRC-32 and declared size.
///
/// Shelf does not hand hostile archives to a general zip library: the audit has already placed
/// every entry inside the file and apart from the others, and this reader inflates exactly the
/// bytes the audit found, never more output than the entry declares. (A library that walks the
/// local headers itself stops at the first damaged one, so that one zeroed header hides every
/// later entry.)
public enum ZipEntryReader {
    /// Why an entry does not inflate to what the directory declares.
    public struct Corrupt: Error, Sendable, Equatable, CustomStringConvertible {
        public var why: String
        public var description: String { why }
    }

    /// Inflates an entry and returns its bytes; throws `Corrupt` when it is damaged or larger
    /// than `limit`.
    public static func extract(_ entry: ZipAudit.Entry, fileDescriptor fd: Int32, limit: Int64) throws(Corrupt) -> Data
    {
        guard entry.uncompressedSize <= UInt64(max(limit, 0)) else {
            throw Corrupt(why: "it is \(entry.uncompressedSize) bytes, over the \(limit)-byte limit")
        }
        var data = Data(capacity: Int(entry.uncompressedSize))
        try inflate(entry, fileDescriptor: fd) {
            data.append(contentsOf: $0)
            return true
        }
        return data
    }

    /// The first `count` bytes of an entry (all of it when it is shorter), inflated no further:
    /// for reading a header without holding a large file. Not CRC-checked (only a whole entry is).
    public static func extractPrefix(_ entry: ZipAudit.Entry, fileDescriptor fd: Int32, count: Int) throws(Corrupt)
        -> Data
    {
        var data = Data(capacity: min(count, Int(min(entry.uncompressedSize, UInt64(Int.max)))))
        try inflate(entry, fileDescriptor: fd) { bytes in
            data.append(contentsOf: bytes.prefix(count - data.count))
            return data.count < count
        }
        return data
    }

    /// Inflates an entry and discards the bytes: only its CRC and size are checked.
    public static func verify(_ entry: ZipAudit.Entry, fileDescriptor fd: Int32) throws(Corrupt) {
        try inflate(entry, fileDescriptor: fd) { _ in true }
    }

    /// Streams an entry's inflated bytes to `consume`, at most its declared size, and checks the
    /// total size and CRC-32 at the end. `consume` returns false to stop early (then nothing is
    /// checked).
    public static func inflate(
        _ entry: ZipAudit.Entry, fileDescriptor fd: Int32, _ consume: (UnsafeRawBufferPointer) -> Bool
    ) throws(Corrupt) {
        if let damage = entry.damage { throw Corrupt(why: damage) }
        guard let start = entry.dataOffset else { throw Corrupt(why: "its local header cannot be read") }
        let declared = entry.uncompressedSize
        let chunk = 1 << 16
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { input.deallocate() }
        var crc = crc32(0, nil, 0)
        var produced: UInt64 = 0
        var stopped = false
        var consumed: UInt64 = 0

        func readInput() throws(Corrupt) -> Int {
            let want = Int(min(UInt64(chunk), entry.compressedSize - consumed))
            if want == 0 { return 0 }
            var got = 0
            while got < want {
                let n = pread(fd, input.baseAddress! + got, want - got, off_t(start + consumed) + off_t(got))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { throw Corrupt(why: "its data cannot be read (the file is truncated?)") }
                got += n
            }
            consumed += UInt64(got)
            return got
        }
        func emit(_ bytes: UnsafeRawBufferPointer) throws(Corrupt) {
            produced += UInt64(bytes.count)
            if produced > declared {
                throw Corrupt(why: "it inflates to more than the \(declared) bytes its header says")
            }
            crc = crc32(crc, bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(bytes.count))
            if !consume(bytes) { stopped = true }
        }

        if entry.method == 0 {
            while !stopped {
                let n = try readInput()
                if n == 0 { break }
                try emit(UnsafeRawBufferPointer(rebasing: input[0..<n]))
            }
        } else if !(entry.compressedSize == 0 && declared == 0) {
            var stream = z_stream()
            guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw Corrupt(why: "zlib could not start")
            }
            defer { inflateEnd(&stream) }
            let output = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
            defer { output.deallocate() }
            var finished = false
            while !finished && !stopped {
                let n = try readInput()
                if n == 0 { throw Corrupt(why: "its deflate data ends early") }
                stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(n)
                repeat {
                    stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(chunk)
                    let status = CShelfZlib.inflate(&stream, Z_NO_FLUSH)
                    let made = chunk - Int(stream.avail_out)
                    if made > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<made])) }
                    switch status {
                    case Z_STREAM_END:
                        finished = true
                    case Z_OK:
                        break
                    case Z_BUF_ERROR:
                        // No progress possible with this input: more is needed.
                        if stream.avail_in != 0 && made == 0 { throw Corrupt(why: "its deflate data is invalid") }
                    default:
                        throw Corrupt(why: "its deflate data is invalid")
                    }
                } while !finished && !stopped && (stream.avail_in > 0 || stream.avail_out == 0)
            }
        }
        if stopped { return }
        guard produced == declared else {
            throw Corrupt(why: "it inflates to \(produced) bytes, not the \(declared) its header says")
        }
        guard UInt32(truncatingIfNeeded: crc) == entry.crc32 else { throw Corrupt(why: "CRC check failed") }
    }

    /// The entry's MS-DOS date and time, taken as UTC (the field records no time zone): the same
    /// instant on every machine, so that the feed's bytes are.
    public static func modificationDate(_ entry: ZipAudit.Entry) -> Date {
        let date = Int(entry.dosDate)
        let time = Int(entry.dosTime)
        var t = tm()
        t.tm_sec = Int32((time & 31) * 2)
        t.tm_min = Int32((time >> 5) & 63)
        t.tm_hour = Int32((time >> 11) & 31)
        t.tm_mday = Int32(date & 31)
        t.tm_mon = Int32((date >> 5) & 15) - 1
        t.tm_year = Int32(1980 + (date >> 9)) - 1900
        return Date(timeIntervalSince1970: TimeInterval(timegm(&t)))
    }
}
