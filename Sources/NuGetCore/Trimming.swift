/// Trimming white space, as Foundation's `trimmingCharacters(in: .whitespaces)` and
/// `.whitespacesAndNewlines` do, without going through `NSString`.
///
/// On Linux, Foundation's trimming bridges every string to `NSString` and back: reading 20,000
/// nuspecs called it a few hundred thousand times, and it was 4% of a full build's CPU time.
/// This is the same set of characters: `.whitespaces` is Unicode's space separators (category
/// Zs), the tab and, as Core Foundation has it, the zero width space (U+200B);
/// `.whitespacesAndNewlines` adds U+000A to U+000D, U+0085 and the line and paragraph separators
/// (U+2028, U+2029). The tests compare the two over a table of strings,
/// slices of them, and every scalar of the Basic Multilingual Plane at either end.
extension StringProtocol {
    /// The string without leading and trailing white space (`newlines`: and line breaks).
    public func trimmingWhitespace(newlines: Bool = false) -> String {
        let scalars = unicodeScalars
        // Most strings have nothing to trim: one look at each end, and no new string is built
        // from pieces.
        guard let head = scalars.first, let tail = scalars.last else { return "" }
        if !Self.isTrimmed(head, newlines: newlines) && !Self.isTrimmed(tail, newlines: newlines) {
            return String(self)
        }
        guard let start = scalars.firstIndex(where: { !Self.isTrimmed($0, newlines: newlines) }) else { return "" }
        let last = scalars.lastIndex(where: { !Self.isTrimmed($0, newlines: newlines) })!
        return String(self[start..<scalars.index(after: last)])
    }

    static func isTrimmed(_ s: Unicode.Scalar, newlines: Bool) -> Bool {
        switch s.value {
        case 0x09, 0x20, 0x200B: return true
        case 0x0A...0x0D, 0x85, 0x2028, 0x2029: return newlines
        case 0..<0xA0: return false
        default: return s.properties.generalCategory == .spaceSeparator
        }
    }
}
