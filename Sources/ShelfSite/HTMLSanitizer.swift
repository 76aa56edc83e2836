import Foundation

/// The last line of defence for README HTML: keeps only the exact tags Ink (and the README
/// modifiers) write, and turns everything else into text.
///
/// Ink does not escape everything it copies from Markdown: a link target goes into `href` as is,
/// and text from `&` to the next `;` is passed through raw (Ink 0.6.0 `FormattedText`). So the
/// sanitizer does not trust Ink's output to be well-formed. It scans the HTML once:
/// - a tag is kept only if it is, byte for byte, one of the forms in `allowed` (no attributes
///   but `href` on links, `align` on table cells, `start` on ordered lists and the two classes
///   this module adds), with a link target that `ReadmeRenderer.isSafeTarget` accepts;
/// - any other `<` becomes `&lt;`, `>` outside a kept tag becomes `&gt;`;
/// - `&` is kept only when it starts a well-formed character reference, else becomes `&amp;`.
/// What remains can hold no script, no event handler, no frame, no meta refresh, no style.
enum HTMLSanitizer {
    static let plainTags: Set<String> = {
        var tags: Set<String> = ["<hr>", "<br>", "</a>", "</span>"]
        for name in [
            "p", "blockquote", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "h1", "h2", "h3", "h4", "h5",
            "h6", "ul", "ol", "li", "em", "strong", "s",
        ] {
            tags.insert("<\(name)>")
            tags.insert("</\(name)>")
        }
        for cell in ["th", "td"] {
            for align in ["left", "center", "right"] { tags.insert("<\(cell) align=\"\(align)\">") }
        }
        tags.insert("<span class=\"unsafe-link\">")
        tags.insert("<span class=\"readme-image\">")
        return tags
    }()

    static func sanitize(_ html: String) -> String {
        let s = Array(html.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.count + s.count / 16)
        var i = 0
        while i < s.count {
            let c = s[i]
            switch c {
            case UInt8(ascii: "<"):
                if let end = s[i...].firstIndex(of: UInt8(ascii: ">")), isAllowed(s[i...end]) {
                    out += s[i...end]
                    i = end + 1
                    continue
                }
                out += Array("&lt;".utf8)
            case UInt8(ascii: ">"):
                out += Array("&gt;".utf8)
            case UInt8(ascii: "&"):
                if let end = referenceEnd(s, from: i) {
                    out += s[i...end]
                    i = end + 1
                    continue
                }
                out += Array("&amp;".utf8)
            default:
                out.append(c)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isAllowed(_ tag: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: tag, as: UTF8.self)
        if plainTags.contains(text) { return true }
        if text.hasPrefix("<ol start=\""), text.hasSuffix("\">") {
            let digits = text.dropFirst("<ol start=\"".count).dropLast(2)
            return !digits.isEmpty && digits.count <= 9 && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
        }
        for prefix in ["<a href=\"", "<a class=\"readme-image\" href=\""] where text.hasPrefix(prefix) {
            guard text.hasSuffix("\">") else { return false }
            let url = text.dropFirst(prefix.count).dropLast(2)
            guard !url.contains(where: { $0 == "\"" || $0 == "<" || $0 == ">" || $0 == "'" || $0.isWhitespace })
            else { return false }
            return ReadmeRenderer.isSafeTarget(String(url))
        }
        return false
    }

    /// The index of the `;` ending a well-formed character reference at `start` (`&amp;`,
    /// `&#39;`, `&#x27;`), or nil.
    static func referenceEnd(_ s: [UInt8], from start: Int) -> Int? {
        var i = start + 1
        guard i < s.count else { return nil }
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66) }
        func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) }
        var count = 0
        if s[i] == UInt8(ascii: "#") {
            i += 1
            var hex = false
            if i < s.count, s[i] | 0x20 == UInt8(ascii: "x") {
                hex = true
                i += 1
            }
            while i < s.count, hex ? isHex(s[i]) : isDigit(s[i]), count < 8 {
                i += 1
                count += 1
            }
        } else {
            while i < s.count, isAlnum(s[i]), count < 32 {
                i += 1
                count += 1
            }
        }
        return count > 0 && i < s.count && s[i] == UInt8(ascii: ";") ? i : nil
    }
}
