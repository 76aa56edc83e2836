import Crypto
import Foundation
import NuGetCore

/// AWS Signature Version 4 for S3, header-based.
///
/// Written by hand rather than taken from an SDK: the only Swift S3 SDKs (Soto, the AWS SDK for
/// Swift) are not among the packages this project may depend on, and each would bring SwiftNIO
/// and minutes of build for four operations. The algorithm is small and fully specified
/// ("Authenticating Requests: Using the Authorization Header", S3 API reference); swift-crypto
/// does the SHA-256 and HMAC. `SigV4Tests` checks it against the signatures AWS publishes for
/// S3 (examplebucket, 20130524) and the generic SigV4 test suite, and against botocore.
///
/// S3's differences from other services are kept: the path is encoded once (never twice) and
/// never normalised, and `x-amz-content-sha256` carries the payload's hash.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// What a signature is made from, kept for tests and for messages.
    public struct Signed: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        /// The headers to send: the given ones, plus `x-amz-date`, `x-amz-security-token` (with a
        /// session token) and `Authorization`.
        public var headers: [(String, String)]
    }

    /// Signs a request. `path` is the URI path as sent (already percent-encoded, see
    /// `S3Path.encode`); `query` is decoded name/value pairs; `headers` must include `host` and
    /// (for S3) `x-amz-content-sha256`.
    public func sign(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String,
        date: Date
    ) -> Signed {
        let stamp = Self.timestamp(date)
        let day = String(stamp.prefix(8))
        var all = headers
        all.append(("x-amz-date", stamp))
        if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }

        // Canonical headers: lowercase names, values trimmed with inner runs of spaces collapsed,
        // sorted by name; repeated names joined with commas.
        var merged: [String: [String]] = [:]
        for (name, value) in all {
            let collapsed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name.lowercased(), default: []].append(collapsed)
        }
        let names = merged.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")

        let encodedQuery: [(name: String, value: String)] = query.map { (Self.encode($0.0), Self.encode($0.1)) }
        let sortedQuery = encodedQuery.sorted { a, b in a.name != b.name ? a.name < b.name : a.value < b.value }
        let canonicalQuery = sortedQuery.map { item in item.name + "=" + item.value }.joined(separator: "&")

        let canonicalRequest = [
            method, path.isEmpty ? "/" : path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash,
        ]
        .joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", stamp, scope, Hex.string(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Hex.string(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        var out = all
        out.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), "
                    + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ))
        return Signed(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature, headers: out)
    }

    /// `YYYYMMDD'T'HHMMSS'Z'`, in UTC.
    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ n: Int?) -> String { n.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(c.year ?? 1970)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters (`A-Z a-z 0-9 - . _ ~`),
    /// uppercase hex, of the UTF-8 bytes: SigV4's `UriEncode`. `keepSlash` leaves `/` as is (paths).
    public static func encode(_ s: String, keepSlash: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        let hexDigits = Array("0123456789ABCDEF")
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(b)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 15)])
            }
        }
        return out
    }

    public static func sha256Hex(_ data: Data) -> String { Hex.string(SHA256.hash(data: data)) }
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}
