import Foundation
import ShelfTestSupport
import Testing

@testable import ShelfFeed

/// The hand-written encoders on the build's hot path, against Foundation's own.
struct EncodingTests {
    @Test(
        "JSON strings: escapes as JSON requires, runs copied whole, any Unicode kept",
        arguments: [
            ("plain", #""plain""#), ("", #""""#), ("a\"b", #""a\"b""#), ("back\\slash", #""back\\slash""#),
            ("line\nbreak\r\ttab", #""line\nbreak\r\ttab""#), ("\u{1}\u{1F}\u{7F}", #""\u0001\u001f\u007f""#),
            ("\"", #""\"""#), ("ends\\", #""ends\\""#), ("é — 😀", "\"é — 😀\""),
        ])
    func jsonString(text: String, encoded: String) throws {
        let bytes = JSON.array([.string(text)]).fragment(indent: 0)
        #expect(String(decoding: bytes, as: UTF8.self) == "[\n  \(encoded)\n]")
        let back = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String]
        #expect(back == [text])
    }

    @Test("JSON strings that are not stored contiguously (bridged) encode the same")
    func bridgedString() throws {
        let bridged = NSString(string: "a\"b\\c\u{1}é") as String
        let bytes = JSON.string(bridged).fragment(indent: 0)
        #expect(String(decoding: bytes, as: UTF8.self) == #""a\"b\\c\u0001é""#)
    }

    @Test("timestamps: the digits String(format:) wrote, for dates across the range packages use")
    func timestamps() {
        var generator = SeededRandom(seed: 2024)
        var dates: [Date] = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -2_208_988_800),  // 1900-01-01
            Date(timeIntervalSince1970: 315_532_800.999), Date(timeIntervalSince1970: 4_102_444_799),
            Date(timeIntervalSince1970: 253_402_300_799),  // 9999-12-31T23:59:59
            Date(timeIntervalSince1970: 253_402_300_800),  // year 10000: the fallback
        ]
        for _ in 0..<500 { dates.append(Date(timeIntervalSince1970: Double.random(in: -3e9...5e9, using: &generator))) }
        for date in dates {
            var t = time_t(date.timeIntervalSince1970.rounded(.down))
            var parts = tm()
            gmtime_r(&t, &parts)
            let expected = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d+00:00", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
            #expect(RegistrationRenderer.timestamp(date) == expected, "\(date.timeIntervalSince1970)")
        }
    }
}
