import Foundation
import Testing

@testable import NuGetCore

/// Entry names as NuGet's `PackageArchiveReader.CopyFiles` and `ValidatePackageEntry` see them:
/// one leading `/` stripped, percent-decoded, `\` a separator on Windows, segments trimmed of
/// trailing dots and spaces by Windows.
struct ZipAuditTests {
    @Test(
        "unsafe entry names",
        arguments: [
            ("../evil.txt", true), ("lib/../../evil.txt", true), ("lib\\..\\..\\evil.dll", true),
            ("lib/%2e%2e/%2E%2E/x", true), ("lib/.. /x", true), ("lib/. ./x", true), ("lib/.../x", true),
            ("//server/share/x", true), ("\\\\server\\share\\x", true), ("C:/Windows/x.dll", true),
            ("c:x.dll", true), ("lib/a\u{0}.dll", true), ("lib/a%00.dll", true),
            ("/lib/net45/a.dll", false), ("lib/net45/a.dll", false), ("lib\\net45\\a.dll", false),
            ("lib/a..b.dll", false), ("lib/.hidden", false), ("content/%20x.txt", false), ("..a/x", false),
            ("[Content_Types].xml", false), ("package/services/metadata/core-properties/x.psmdcp", false),
        ])
    func unsafeNames(name: String, unsafe: Bool) {
        #expect((ZipAudit.unsafeReason(name) != nil) == unsafe, "\(name)")
    }

    @Test(
        "Windows device names are reserved ids",
        arguments: [
            ("CON", true), ("con", true), ("Nul", true), ("aux", true), ("PRN", true), ("COM1", true),
            ("lpt9", true), ("COM", false), ("Con.Utils", false), ("console", false), ("COM10", false),
        ])
    func reservedIds(id: String, reserved: Bool) {
        #expect(PackageId.isReservedDeviceName(id) == reserved, "\(id)")
    }

    /// A stored zip written here: the audit's limits apply to what the directory declares.
    static func storedZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        func crc32(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for b in bytes {
                crc ^= UInt32(b)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return ~crc
        }
        var out: [UInt8] = []
        var central: [UInt8] = []
        for (name, data) in entries {
            let n = Array(name.utf8)
            let offset = UInt32(out.count)
            let crc = crc32(data)
            out +=
                le32(0x0403_4b50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc)
                + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(n.count) + le16(0) + n + data
            central +=
                le32(0x0201_4b50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc)
                + le32(UInt32(data.count)) + le32(UInt32(data.count)) + le16(n.count) + le16(0) + le16(0) + le16(0)
                + le16(0) + le32(0) + le32(offset) + n
        }
        let cdOffset = UInt32(out.count)
        out += central
        out +=
            le32(0x0605_4b50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
            + le32(UInt32(central.count)) + le32(cdOffset) + le16(0)
        return out
    }

    static func audit(_ bytes: [UInt8], limits: ZipAudit.Limits = .init()) throws(ZipAudit.Problem) -> [ZipAudit.Entry]
    {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).zip").path
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        return try ZipAudit.audit(fileDescriptor: fd, fileSize: UInt64(bytes.count), limits: limits)
    }

    @Test("a well-formed archive passes and every entry inflates to its CRC")
    func wellFormed() throws {
        let bytes = Self.storedZip([("a.nuspec", Array("<x/>".utf8)), ("lib/a.dll", [1, 2, 3])])
        let entries = try Self.audit(bytes)
        #expect(entries.map(\.name) == ["a.nuspec", "lib/a.dll"])
        #expect(entries.allSatisfy { $0.damage == nil && $0.dataOffset != nil })
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).zip").path
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        #expect(try ZipEntryReader.extract(entries[1], fileDescriptor: fd, limit: 10) == Data([1, 2, 3]))
        var wrong = entries[1]
        wrong.crc32 ^= 1
        #expect(throws: ZipEntryReader.Corrupt(why: "CRC check failed")) {
            try ZipEntryReader.verify(wrong, fileDescriptor: fd)
        }
    }

    @Test("limits: entry count and total size, as the directory declares them")
    func limits() throws {
        var limits = ZipAudit.Limits()
        limits.maxEntries = 2
        #expect(throws: ZipAudit.Problem.tooManyEntries(3, limit: 2)) {
            try Self.audit(Self.storedZip([("a", [1]), ("b", [2]), ("c", [3])]), limits: limits)
        }
        limits = ZipAudit.Limits()
        limits.maxTotalUncompressed = 5
        #expect(throws: ZipAudit.Problem.tooLarge(6, limit: 5)) {
            try Self.audit(Self.storedZip([("a", [1, 2, 3]), ("b", [4, 5, 6])]), limits: limits)
        }
    }

    @Test("duplicates, also after NuGet's normalisation")
    func duplicates() {
        #expect(throws: ZipAudit.Problem.duplicateName("lib/a.dll")) {
            try Self.audit(Self.storedZip([("lib/a.dll", [1]), ("lib/a.dll", [2])]))
        }
        #expect(throws: ZipAudit.Problem.duplicateName("lib%2Fa.dll")) {
            try Self.audit(Self.storedZip([("lib/a.dll", [1]), ("lib%2Fa.dll", [2])]))
        }
    }

    @Test("a lost local header is damage, not a refusal; a renamed one is a lie")
    func damageAndLies() throws {
        var bytes = Self.storedZip([("a.nuspec", [1]), ("lib/a.dll", [2, 3])])
        let second = 30 + "a.nuspec".utf8.count + 1
        var zeroed = bytes
        for i in second..<(second + 4) { zeroed[i] = 0 }
        let entries = try Self.audit(zeroed)
        #expect(entries[1].damage != nil && entries[0].damage == nil)
        bytes[second + 30] = UInt8(ascii: "L")
        #expect(throws: ZipAudit.Problem.self) { try Self.audit(bytes) }
    }
}
