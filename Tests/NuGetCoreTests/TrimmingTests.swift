import Foundation
import Testing

@testable import NuGetCore

/// `trimmingWhitespace` trims what Foundation's `trimmingCharacters(in:)` trims, and nothing else.
struct TrimmingTests {
    static let samples = [
        "", " ", "a", " a ", "\ta\t", "\na\n", "\r\n a b \r\n", "\u{A0}a\u{A0}", "\u{2003}x\u{3000}",
        "\u{85}a\u{85}", "\u{2028}a\u{2029}", "\u{B}a\u{C}", "\u{200B}a\u{200B}", "\u{FEFF}a", " \u{301}a",
        "a\u{301} ", "  1.0.0  ", "[1.0, 2.0)", "\u{1680}a", "é", " 👍🏽 ", "\u{0}a\u{0}", "\u{1F}a", "\n\t \u{A0}",
    ]

    @Test("the same as Foundation, with and without newlines", arguments: samples)
    func sameAsFoundation(text: String) {
        #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces))
        #expect(text.trimmingWhitespace(newlines: true) == text.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(Substring(text).trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces))
        // A slice that starts and ends inside a larger string, as `split` gives them.
        let whole = "ab" + text + "cd"
        let scalars = whole.unicodeScalars
        let slice = whole[
            scalars.index(scalars.startIndex, offsetBy: 2)..<scalars.index(scalars.endIndex, offsetBy: -2)]
        #expect(slice.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces))
        #expect(slice.trimmingWhitespace(newlines: true) == text.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(
            Array(slice.trimmingWhitespace().unicodeScalars)
                == Array(text.trimmingCharacters(in: .whitespaces).unicodeScalars))
    }

    @Test("every scalar of the Basic Multilingual Plane at either end: trimmed exactly when Foundation trims it")
    func everyScalar() {
        for value in UInt32(0)...0x1_0000 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = String(scalar) + "x" + String(scalar)
            #expect(
                text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces), "U+\(String(value, radix: 16))")
            // A slice cut at scalars (a combining mark joins the "x" before it in one Character).
            let whole = "x" + text + "x"
            let slice = whole[
                whole.unicodeScalars.index(after: whole.startIndex)..<whole.unicodeScalars.index(before: whole.endIndex)
            ]
            #expect(
                Array(slice.trimmingWhitespace().unicodeScalars)
                    == Array(text.trimmingCharacters(in: .whitespaces).unicodeScalars), "U+\(String(value, radix: 16))")
            #expect(
                text.trimmingWhitespace(newlines: true) == text.trimmingCharacters(in: .whitespacesAndNewlines),
                "U+\(String(value, radix: 16))")
        }
    }
}
