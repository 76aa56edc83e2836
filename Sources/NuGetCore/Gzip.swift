import CShelfZlib
import Foundation

/// gzip (RFC 1952) through the system's zlib, deterministic: no file name, a zero timestamp, the
/// same bytes for the same input, so that a feed stored compressed is still byte-identical
/// between builds.
public enum Gzip {
    public static func compress(_ data: Data, level: Int32 = 9) -> Data {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip wrapper with zlib's default header (mtime 0, no name).
        guard
            deflateInit2_(
                &stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return data }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(data.count))) + 32
        var out = Data(count: bound)
        let written: Int = data.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                stream.next_in = UnsafeMutablePointer(
                    mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self) ?? UnsafePointer(bitPattern: 1)!)
                stream.avail_in = uInt(input.count)
                stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(output.count)
                guard deflate(&stream, Z_FINISH) == Z_STREAM_END else { return -1 }
                return output.count - Int(stream.avail_out)
            }
        }
        guard written >= 0 else { return data }
        out.count = written
        return out
    }

    /// Inflates a gzip stream (for tests and `shelf validate`); nil when it is not one.
    public static func decompress(_ data: Data, limit: Int = 64 << 20) -> Data? {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return nil
        }
        defer { inflateEnd(&stream) }
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let ok: Bool = data.withUnsafeBytes { input in
            stream.next_in = UnsafeMutablePointer(
                mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self) ?? UnsafePointer(bitPattern: 1)!)
            stream.avail_in = uInt(input.count)
            while true {
                let status = buffer.withUnsafeMutableBytes { b -> Int32 in
                    stream.next_out = b.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(b.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                out.append(contentsOf: buffer[0..<(buffer.count - Int(stream.avail_out))])
                if out.count > limit { return false }
                if status == Z_STREAM_END { return true }
                if status != Z_OK { return false }
            }
        }
        return ok ? out : nil
    }

    /// zlib's CRC-32 of `bytes`.
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0) }
    }

    /// zlib's CRC-32 of `raw`.
    public static func crc32(_ raw: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(
            truncatingIfNeeded: CShelfZlib.crc32(
                0, raw.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(raw.count)))
    }
}
