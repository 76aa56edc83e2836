import Crypto
import Foundation
import NuGetCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `s3://bucket/prefix`: where a feed is published.
public struct S3Destination: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    /// Empty, or ending in `/`.
    public var prefix: String

    public init(_ url: String) throws(PublishError) {
        guard url.hasPrefix("s3://") else {
            throw PublishError.notAnS3URL(url)
        }
        let rest = url.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { throw PublishError.noBucket(url) }
        self.bucket = String(bucket)
        var prefix = String(rest.dropFirst(bucket.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !prefix.isEmpty,
            prefix.split(separator: "/", omittingEmptySubsequences: false).contains(where: {
                $0 == "." || $0 == ".." || $0.isEmpty
            })
        {
            throw PublishError.unclearPrefix(url)
        }
        if !prefix.isEmpty { prefix += "/" }
        self.prefix = prefix
    }

    public var description: String { "s3://\(bucket)/\(prefix)" }
}

/// Path-style (`https://host/bucket/key`) or virtual-hosted (`https://bucket.host/key`) addressing.
public enum S3Addressing: String, Sendable, CaseIterable {
    case path, virtual
}

/// The four S3 operations a publish needs, signed with SigV4, over URLSession. Server errors
/// and dropped connections are retried (three times, with backoff); S3's own error codes are
/// reported as S3 wrote them.
public struct S3Client: Sendable {
    public let endpoint: URL
    public let bucket: String
    public let addressing: S3Addressing
    public let signer: SigV4Signer
    let session: URLSession
    /// What this client sent and received (for `--json` and the push benchmark).
    public let traffic = Traffic()

    public init(endpoint: URL, bucket: String, addressing: S3Addressing, signer: SigV4Signer) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.addressing = addressing
        self.signer = signer
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 16
        configuration.timeoutIntervalForRequest = 120
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
    }

    /// AWS's own endpoint for a region; virtual-hosted unless the bucket name cannot be a host name.
    public static func awsEndpoint(region: String) -> URL {
        URL(string: "https://s3.\(region).amazonaws.com")!
    }

    public static func defaultAddressing(bucket: String, customEndpoint: Bool) -> S3Addressing {
        // Most S3-compatible servers (MinIO, Ceph, moto) expect path-style by default; AWS
        // prefers virtual-hosted, which a bucket with dots cannot use over TLS.
        if customEndpoint || bucket.contains(".") { return .path }
        return .virtual
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data

        public func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
        public var etag: String? { header("ETag") }
        /// The server's clock (`Date`), which leases are measured against.
        public var date: Date? { header("Date").flatMap(HTTPDate.parse) }
        /// S3's error code (`<Code>`), when the body is an error document.
        public var errorCode: String? { (try? XMLElementNode.parse(body))?.child("Code")?.text }
        public var errorMessage: String {
            let xml = try? XMLElementNode.parse(body)
            let code = xml?.child("Code")?.text ?? "HTTP \(status)"
            let message = xml?.child("Message")?.text ?? ""
            return message.isEmpty ? code : "\(code): \(message)"
        }
    }

    /// The URL and signed path of a key (`""` for the bucket itself).
    func location(_ key: String) -> (url: String, path: String, host: String) {
        var host = endpoint.host ?? "localhost"
        if addressing == .virtual { host = bucket + "." + host }
        let defaultPort = endpoint.scheme == "https" ? 443 : 80
        let hostHeader = endpoint.port.map { $0 == defaultPort ? host : "\(host):\($0)" } ?? host
        var basePath = endpoint.path
        if basePath.hasSuffix("/") { basePath.removeLast() }
        let encodedKey = SigV4Signer.encode(key, keepSlash: true)
        let path =
            addressing == .path
            ? "\(basePath)/\(SigV4Signer.encode(bucket))/\(encodedKey)"
            : "\(basePath)/\(encodedKey)"
        return ("\(endpoint.scheme ?? "https")://\(hostHeader)\(path)", path, hostHeader)
    }

    public func send(
        _ method: String, key: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: Data = Data()
    ) async throws -> Response {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try await sendOnce(method, key: key, query: query, headers: headers, body: body)
                if response.status >= 500 && attempt < 4 {
                    try await Task.sleep(nanoseconds: UInt64(250_000_000 << attempt))
                    continue
                }
                return response
            } catch let error as URLError where attempt < 4 && error.code != .cancelled {
                try await Task.sleep(nanoseconds: UInt64(250_000_000 << attempt))
            }
        }
    }

    func sendOnce(
        _ method: String, key: String, query: [(String, String)], headers: [(String, String)], body: Data
    ) async throws -> Response {
        let (url, path, host) = location(key)
        let payloadHash = SigV4Signer.sha256Hex(body)
        var toSign: [(String, String)] = [("host", host), ("x-amz-content-sha256", payloadHash)]
        toSign += headers
        let signed = signer.sign(
            method: method, path: path, query: query, headers: toSign, payloadHash: payloadHash, date: Date())
        let queryString = query.map { SigV4Signer.encode($0.0) + "=" + SigV4Signer.encode($0.1) }.joined(separator: "&")
        guard let requestURL = URL(string: queryString.isEmpty ? url : url + "?" + queryString) else {
            throw PublishError.badRequestURL(url)
        }
        var request = URLRequest(url: requestURL)
        request.httpMethod = method
        for (name, value) in signed.headers where name.lowercased() != "host" {
            request.setValue(value, forHTTPHeaderField: name)
        }
        if method == "PUT" {
            request.httpBody = body
            request.setValue(String(body.count), forHTTPHeaderField: "Content-Length")
        }
        // The stored encoding must come back as stored: never ask for another.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        let (data, response) = try await session.data(for: request)
        traffic.add(method, sent: method == "PUT" ? body.count : 0, received: data.count)
        guard let http = response as? HTTPURLResponse else { throw PublishError.notHTTP(url) }
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let k = k as? String, let v = v as? String { headers[k] = v }
        }
        return Response(status: http.statusCode, headers: headers, body: data)
    }

    public struct Object: Sendable, Equatable {
        public var key: String
        public var etag: String
        public var size: Int64
    }

    /// Every object under a prefix (ListObjectsV2, 1,000 a page).
    public func list(prefix: String) async throws -> [Object] {
        var out: [Object] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send("GET", key: "", query: query)
            guard response.status == 200 else {
                throw PublishError.listFailed(destination: "s3://\(bucket)/\(prefix)", message: response.errorMessage)
            }
            let xml = try XMLElementNode.parse(response.body)
            for item in xml.children(named: "Contents") {
                guard let key = item.child("Key")?.text else { continue }
                out.append(
                    Object(
                        key: key, etag: Self.unquote(item.child("ETag")?.text ?? ""),
                        size: Int64(item.child("Size")?.text ?? "") ?? -1))
            }
            token = xml.child("IsTruncated")?.text == "true" ? xml.child("NextContinuationToken")?.text : nil
        } while token != nil
        return out
    }

    public static func unquote(_ etag: String) -> String {
        var e = etag
        if e.hasPrefix("W/") { e.removeFirst(2) }
        return e.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }
}

/// RFC 7231 dates (`Date`, `Last-Modified`), the server's clock.
enum HTTPDate {
    static func parse(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func parseISO(_ text: String) -> Date? { ISO8601DateFormatter().date(from: text) }
}

/// Requests by method and body bytes each way, counted as they are answered.
public final class Traffic: @unchecked Sendable {
    private let mutex = NSLock()
    private var requests: [String: Int] = [:]
    private var sent = 0
    private var received = 0

    func add(_ method: String, sent: Int, received: Int) {
        mutex.withLock {
            requests[method, default: 0] += 1
            self.sent += sent
            self.received += received
        }
    }

    /// Requests by method, and the bytes of the bodies sent and received.
    public var totals: (requests: [String: Int], sent: Int, received: Int) {
        mutex.withLock { (requests, sent, received) }
    }
}
