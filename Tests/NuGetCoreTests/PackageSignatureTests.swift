import Foundation
import Testing

@testable import NuGetCore

/// The signing certificate of a real signed package, checked against OpenSSL:
/// `unzip -p Azure.AI.OpenAI.1.0.0-beta.14.nupkg .signature.p7s > a.p7s;
///  openssl cms -verify -noverify -inform DER -in a.p7s -binary -signer s.pem -out /dev/null;
///  openssl x509 -in s.pem -fingerprint -sha256 -noout` (subject CN=Microsoft Corporation).
struct PackageSignatureTests {
    /// The fixtures (Tests/Fixtures/packages).
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/packages")

    @Test("the author signature's certificate of a nuget.org package")
    func authorSigned() throws {
        let archive = try PackageArchive.read(
            path: Self.fixtures.appendingPathComponent("Azure.AI.OpenAI.1.0.0-beta.14.nupkg").path)
        #expect(archive.isSigned)
        #expect(archive.signerFingerprint == "566A31882BE208BE4422F7CFD66ED09F5D4524A5994F50CCC8B05EC0528C1353")
    }

    @Test(
        "not a SignedData: no fingerprint, no crash",
        arguments: [[], [0x30, 0x03, 0x02, 0x01, 0x01], [0xFF, 0xFF]] as [[UInt8]])
    func garbage(bytes: [UInt8]) {
        #expect(PackageSignature.signerFingerprint(bytes) == nil)
    }
}
