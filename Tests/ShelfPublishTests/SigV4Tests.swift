import Foundation
import Testing

@testable import ShelfPublish

/// The signatures AWS publishes: S3's header-based examples ("Examples: Signature Calculations in
/// AWS Signature Version 4", examplebucket, 24 May 2013) and two cases of the generic SigV4 test
/// suite (awslabs/aws-c-auth `tests/aws-signing-test-suite/v4/`). Each was also reproduced with
/// botocore 1.43.11's S3SigV4Auth before it was written here.
@Suite("SigV4")
struct SigV4Tests {
    static let s3 = SigV4Signer(
        credentials: AWSCredentials(
            accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    static let may2013 = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let empty = SigV4Signer.emptyPayloadHash

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var method: String
        var path: String
        var query: [(String, String)]
        var headers: [(String, String)]
        var payload: String
        var canonicalRequest: String
        var signature: String
        var testDescription: String { name }
    }

    static let s3Cases: [Case] = [
        Case(
            name: "GET Object", method: "GET", path: "/test.txt", query: [],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"), ("x-amz-content-sha256", empty),
            ], payload: empty,
            canonicalRequest: """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:\(empty)
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                \(empty)
                """,
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        Case(
            name: "PUT Object", method: "PUT", path: "/" + SigV4Signer.encode("test$file.text", keepSlash: true),
            query: [],
            headers: [
                ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("Host", "examplebucket.s3.amazonaws.com"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
            ],
            payload: SigV4Signer.sha256Hex(Data("Welcome to Amazon S3.".utf8)),
            canonicalRequest: """
                PUT
                /test%24file.text

                date:Fri, 24 May 2013 00:00:00 GMT
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                x-amz-date:20130524T000000Z
                x-amz-storage-class:REDUCED_REDUNDANCY

                date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
                44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                """,
            signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        Case(
            name: "GET Bucket Lifecycle", method: "GET", path: "/", query: [("lifecycle", "")],
            headers: [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", empty)], payload: empty,
            canonicalRequest: """
                GET
                /
                lifecycle=
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:\(empty)
                x-amz-date:20130524T000000Z

                host;x-amz-content-sha256;x-amz-date
                \(empty)
                """,
            signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        Case(
            name: "GET Bucket (List Objects), parameters out of order", method: "GET", path: "/",
            query: [("prefix", "J"), ("max-keys", "2")],
            headers: [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", empty)], payload: empty,
            canonicalRequest: """
                GET
                /
                max-keys=2&prefix=J
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:\(empty)
                x-amz-date:20130524T000000Z

                host;x-amz-content-sha256;x-amz-date
                \(empty)
                """,
            signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ]

    @Test("AWS's S3 examples", arguments: s3Cases)
    func s3Examples(_ c: Case) {
        let signed = Self.s3.sign(
            method: c.method, path: c.path, query: c.query, headers: c.headers, payloadHash: c.payload,
            date: Self.may2013)
        #expect(signed.canonicalRequest == c.canonicalRequest)
        #expect(signed.signature == c.signature)
        let auth = signed.headers.first { $0.0 == "Authorization" }?.1 ?? ""
        #expect(auth.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "))
        #expect(auth.hasSuffix("Signature=\(c.signature)"))
    }

    @Test("The generic test suite: get-vanilla and get-vanilla-query-order-key-case")
    func genericSuite() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "service")
        let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
        let vanilla = signer.sign(
            method: "GET", path: "/", query: [], headers: [("Host", "example.amazonaws.com")],
            payloadHash: Self.empty, date: date)
        #expect(vanilla.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        let ordered = signer.sign(
            method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com")], payloadHash: Self.empty, date: date)
        #expect(
            ordered.stringToSign == """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0
                """)
        #expect(ordered.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test("A session token is signed and sent")
    func sessionToken() {
        var signer = Self.s3
        signer.credentials.sessionToken = "token/with+chars"
        let signed = signer.sign(
            method: "GET", path: "/k", query: [], headers: [("Host", "h"), ("x-amz-content-sha256", Self.empty)],
            payloadHash: Self.empty, date: Self.may2013)
        #expect(signed.canonicalRequest.contains("x-amz-security-token:token/with+chars\n"))
        #expect(signed.headers.contains { $0.0 == "x-amz-security-token" && $0.1 == "token/with+chars" })
    }

    @Test("UriEncode: unreserved characters stay, everything else is %XX of its UTF-8 bytes")
    func uriEncode() {
        #expect(SigV4Signer.encode("a-b_c.d~e") == "a-b_c.d~e")
        #expect(SigV4Signer.encode("a b+c/d") == "a%20b%2Bc%2Fd")
        #expect(SigV4Signer.encode("a b/c", keepSlash: true) == "a%20b/c")
        #expect(SigV4Signer.encode("é") == "%C3%A9")
    }
}

/// Destinations and credentials that cannot be used are refused by case, before any request.
struct PublishErrorTests {
    @Test(
        "destinations",
        arguments: [
            ("https://bucket/prefix", PublishError.notAnS3URL("https://bucket/prefix")),
            ("s3:///prefix", PublishError.noBucket("s3:///prefix")),
            ("s3://bucket/a/../b", PublishError.unclearPrefix("s3://bucket/a/../b")),
            ("s3://bucket/a//b", PublishError.unclearPrefix("s3://bucket/a//b")),
        ])
    func destinations(url: String, error: PublishError) {
        #expect(throws: error) { try S3Destination(url) }
    }

    @Test("a destination that is fine: bucket and prefix")
    func destination() throws {
        let d = try S3Destination("s3://bucket/a/b/")
        #expect(d.bucket == "bucket" && d.prefix == "a/b/")
    }

    @Test("no credentials anywhere, and a named profile without a key")
    func credentials() {
        let environment = ["HOME": "/nonexistent"]
        #expect(
            throws: PublishError.noCredentials(profile: "default", credentialsFile: "/nonexistent/.aws/credentials")
        ) {
            try AWSConfiguration.resolve(profile: nil, region: nil, environment: environment)
        }
        #expect(
            throws: PublishError.noKeyInProfile(
                profile: "ci", credentialsFile: "/nonexistent/.aws/credentials", configFile: "/nonexistent/.aws/config")
        ) {
            try AWSConfiguration.resolve(profile: "ci", region: nil, environment: environment)
        }
    }

    @Test("another publish or build in the way is contention (exit status 75); other errors are not")
    func contention() {
        #expect(PublishError.leaseHeld(destination: "s3://b/", since: "a", until: "b").isContention)
        #expect(PublishError.buildRunning(root: "/feed").isContention)
        #expect(!PublishError.notAFeed(root: "/feed").isContention)
    }
}
