import Crypto
import Foundation
import SwiftASN1

/// The signer of a package's primary signature (`.signature.p7s`, a CMS SignedData).
///
/// Only the certificate is identified, by its SHA-256 fingerprint (what NuGet's `trustedSigners`
/// configuration and `dotnet nuget verify` show): the certificate whose issuer and serial number
/// the signer info names. The signature itself is not verified cryptographically.
public enum PackageSignature {
    /// Upper-case hex SHA-256 fingerprint of the signing certificate, or nil when the file is not
    /// a SignedData this reader understands.
    public static func signerFingerprint(_ p7s: [UInt8]) -> String? {
        guard let contentInfo = try? BER.parse(p7s), case .constructed(let ci) = contentInfo.content else { return nil }
        let ciNodes = Array(ci)
        guard ciNodes.count >= 2, case .constructed(let explicit) = ciNodes[1].content,
            let signedData = Array(explicit).first, case .constructed(let sd) = signedData.content
        else { return nil }
        var certificates: [ASN1Node] = []
        var signerInfos: [ASN1Node] = []
        for node in sd {
            if node.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
                case .constructed(let certs) = node.content
            {
                certificates = Array(certs)
            } else if node.identifier == .set, case .constructed(let infos) = node.content {
                signerInfos = Array(infos)
            }
        }
        // SignerInfo: version, sid, ... where sid is IssuerAndSerialNumber (version 1) or
        // [0] SubjectKeyIdentifier (version 3, what NuGet's signing writes).
        guard let signer = signerInfos.first, case .constructed(let si) = signer.content else { return nil }
        let siNodes = Array(si)
        guard siNodes.count >= 2 else { return nil }
        let sid = siNodes[1]
        for cert in certificates {
            guard case .constructed(let c) = cert.content, let tbs = Array(c).first,
                case .constructed(let t) = tbs.content
            else { continue }
            var fields = Array(t)
            let version = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
            if fields.first?.identifier == version { fields.removeFirst() }
            let matches: Bool
            if sid.identifier == .sequence, case .constructed(let ias) = sid.content {
                let parts = Array(ias)
                matches =
                    parts.count == 2 && fields.count >= 3 && fields[0].encodedBytes == parts[1].encodedBytes
                    && fields[2].encodedBytes == parts[0].encodedBytes
            } else if sid.identifier == version, case .primitive(let ski) = sid.content {
                matches = subjectKeyIdentifier(fields) == ski
            } else {
                matches = false
            }
            if matches {
                return SHA256.hash(data: Array(cert.encodedBytes)).map { String(format: "%02X", $0) }.joined()
            }
        }
        return nil
    }

    /// The certificate's SubjectKeyIdentifier extension (2.5.29.14), from the fields of its
    /// tbsCertificate after the version: `[3] EXPLICIT SEQUENCE OF Extension`.
    static func subjectKeyIdentifier(_ fields: [ASN1Node]) -> ArraySlice<UInt8>? {
        let extensionsTag = ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific)
        guard let wrapper = fields.first(where: { $0.identifier == extensionsTag }),
            case .constructed(let w) = wrapper.content, let list = Array(w).first,
            case .constructed(let extensions) = list.content
        else { return nil }
        let skiOID: [UInt8] = [0x06, 0x03, 0x55, 0x1D, 0x0E]
        for ext in extensions {
            guard case .constructed(let parts) = ext.content else { continue }
            let p = Array(parts)
            guard let oid = p.first, Array(oid.encodedBytes) == skiOID, let value = p.last,
                case .primitive(let octets) = value.content,
                let inner = try? DER.parse(Array(octets)), case .primitive(let id) = inner.content
            else { continue }
            return id
        }
        return nil
    }
}
