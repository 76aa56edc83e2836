import Foundation
import MultipartKit
import NIOCore
import NuGetCore

/// Why an upload was not taken whole.
enum UploadError: Error, Equatable {
    /// More than the limit (counted as it streams: chunked bodies have no length up front).
    case tooLarge
    /// The body is multipart but holds no file part.
    case noPackage
    case malformed(String)
    /// The connection ended (or was cut off) before the body did.
    case ended
    case cannotWrite(String)
}

/// A request body streamed into a file: the package part of a `multipart/form-data` body (what
/// `dotnet nuget push` sends: one part named `package`), or the body itself when it is not
/// multipart. Never more than `limit` bytes are taken.
struct Upload {
    let path: String
    let limit: Int64

    /// The boundary of a `multipart/form-data` content type; nil for another type.
    static func boundary(_ contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/") else { return nil }
        for param in contentType.split(separator: ";").dropFirst() {
            let kv = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2, kv[0].lowercased() == "boundary" {
                let b = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return b.isEmpty || b.count > 200 ? nil : b
            }
        }
        return nil
    }

    /// Receives `body` into `path`; `progress` is called as bytes arrive (the watchdog's clock).
    /// Returns the package's size.
    func receive<Body: AsyncSequence>(
        _ body: Body, contentType: String?, progress: @Sendable () -> Void
    ) async throws(UploadError) -> Int64 where Body.Element == ByteBuffer {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .cannotWrite(POSIX.message(errno)) }
        defer { close(fd) }
        let sink = PartSink(fd: fd, limit: limit)
        var received: Int64 = 0
        let parser: MultipartParser?
        if let boundary = Self.boundary(contentType) {
            let p = MultipartParser(boundary: boundary)
            p.onHeader = { name, value in sink.header(name, value) }
            p.onBody = { buffer in sink.body(&buffer) }
            p.onPartComplete = { sink.partComplete() }
            parser = p
        } else if let contentType, contentType.lowercased().hasPrefix("multipart/") {
            throw .malformed("a multipart body needs a boundary")
        } else {
            parser = nil
            sink.startRaw()
        }
        var iterator = body.makeAsyncIterator()
        do {
            while var chunk = try await iterator.next() {
                progress()
                received += Int64(chunk.readableBytes)
                // The envelope around the package is small: a body far over the limit is refused
                // before its package part is.
                if received > limit + 1_048_576 { throw UploadError.tooLarge }
                if let parser {
                    do {
                        try parser.execute(chunk)
                    } catch {
                        throw UploadError.malformed("the multipart body cannot be parsed")
                    }
                } else {
                    sink.body(&chunk)
                }
                if let failure = sink.failure { throw failure }
                // Around the package there are a few headers and boundaries: a body that holds
                // much else (a header megabytes long, which the parser would copy over and over)
                // is refused once it has 64 KB more than the package.
                if parser != nil, received - sink.taken > 65_536 {
                    throw UploadError.malformed("the request holds too much besides the package")
                }
            }
        } catch let error as UploadError {
            throw error
        } catch {
            throw .ended
        }
        sink.flush()
        if let failure = sink.failure { throw failure }
        if parser != nil && !sink.complete {
            throw sink.started ? .malformed("the package part does not end") : .noPackage
        }
        return sink.written
    }
}

/// Where the parser's callbacks write: the first file part (or the raw body) into the file.
final class PartSink: @unchecked Sendable {
    let fd: Int32
    let limit: Int64
    private(set) var written: Int64 = 0
    private(set) var failure: UploadError?
    private(set) var started = false
    private(set) var complete = false
    private var isPackagePart = false
    private var headerBytes = 0

    init(fd: Int32, limit: Int64) {
        self.fd = fd
        self.limit = limit
    }

    func startRaw() {
        started = true
        isPackagePart = true
    }

    func header(_ name: String, _ value: String) {
        headerBytes += name.utf8.count + value.utf8.count
        if headerBytes > 16_384 { failure = failure ?? .malformed("a part's headers are too long") }
        guard !started, name.lowercased() == "content-disposition" else { return }
        let v = value.lowercased()
        if v.contains("filename=") || v.contains("name=\"package\"") || v.contains("name=package") {
            isPackagePart = true
            started = true
        }
    }

    /// Bytes of the body that went to the package (the parser hands them over in pieces as
    /// small as a byte, where a boundary might start: they are gathered before a write).
    var taken: Int64 { written }
    private var pendingBytes: [UInt8] = []

    func body(_ buffer: inout ByteBuffer) {
        guard isPackagePart, failure == nil else { return }
        let count = buffer.readableBytes
        written += Int64(count)
        guard written <= limit else {
            failure = .tooLarge
            return
        }
        buffer.withUnsafeReadableBytes { pendingBytes.append(contentsOf: $0) }
        buffer.moveReaderIndex(forwardBy: count)
        if pendingBytes.count >= 256 * 1024 { flush() }
    }

    /// Writes what was gathered.
    func flush() {
        guard !pendingBytes.isEmpty, failure == nil else { return }
        let ok = pendingBytes.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        if !ok { failure = .cannotWrite(POSIX.message(errno)) }
        pendingBytes.removeAll(keepingCapacity: true)
    }

    func partComplete() {
        flush()
        if isPackagePart {
            isPackagePart = false
            complete = true
        }
        headerBytes = 0
    }
}
